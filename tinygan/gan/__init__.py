"""GAN recipes, losses and the shared Trainer."""
