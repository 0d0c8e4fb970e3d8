"""Train the MNIST classifier that tinygan's metrics use, and ship its weights with the package.

    python scripts/train_classifier.py [--seed 0] [--epochs 3] [--data DIR] [--domain edges]

The network (``tinygan.metrics.classifier.MnistClassifier``) is built and trained with tinygan
itself: Adam, batch 128, cross-entropy from ``log_softmax``; the learning rate is 1e-3 and a
tenth of it in the last epoch. The seed fixes the initial weights (``tinygan.manual_seed``) and
the order of the batches (the DataLoader's seed), so the same seed gives the same weights on
the same machine (bit for bit with the same BLAS and thread count: this script asks OpenBLAS
for one thread, which is also much faster on a busy CPU than two threads fighting for it).

Then, in eval mode and under no_grad, it measures the accuracy on the 10,000 test images,
computes the test set's feature statistics (``real_mu``, ``real_sigma``: what every GAN is
compared with), and the real-versus-real FID baselines (the training set's features against
the test set's: a 10,000-image subset, the size of a default evaluation, and all 60,000).

Writes (atomically) ``tinygan/metrics/mnist_classifier.npz`` (the state_dict plus real_mu and
real_sigma; plain np.savez, no pickle) and ``mnist_classifier.json`` (the record).

``--domain edges`` trains the same network on the edge images of MNIST (``tinygan.data.domains``,
train and test sets passed through the transform) and writes ``mnist_edges_classifier.npz`` /
``.json``: the reader of the two-domain models' edge images.
``--out DIR`` writes them elsewhere; ``--max-steps`` cuts training short (a smoke test of the
script and of its determinism, not a classifier to ship).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import tinygan  # noqa: E402
from tinygan.data import DataLoader, load_mnist  # noqa: E402
from tinygan.data.atomic import atomic_write  # noqa: E402
from tinygan.data.domains import get_domain  # noqa: E402
from tinygan.metrics.classifier import (DOMAIN_READERS, MnistClassifier, cross_entropy, features_and_probs,  # noqa: E402
                                        record_path, weights_path)
from tinygan.metrics.fid import feature_statistics, frechet_distance  # noqa: E402
from tinygan.optim import Adam  # noqa: E402


def train(model, loader, epochs, lr, max_steps=None, log=print):
    """Adam on the cross-entropy; the last epoch at lr / 10. Returns (seconds per epoch, steps)."""
    opt = Adam(model.parameters(), lr=lr)
    model.train()
    seconds, step = [], 0
    for epoch in range(epochs):
        opt.lr = lr if epoch < epochs - 1 or epochs == 1 else lr / 10
        start, running = time.perf_counter(), []
        for x, y in loader:
            loss = cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            running.append(loss.item())
            step += 1
            if step % 50 == 0:
                log(f"epoch {epoch + 1} step {step}: loss {np.mean(running[-50:]):.4f}  "
                    f"{(time.perf_counter() - start) / len(running):.2f} s/step")
            if max_steps and step >= max_steps:
                break
        seconds.append(time.perf_counter() - start)
        log(f"epoch {epoch + 1}/{epochs}: mean loss {np.mean(running):.4f}, {seconds[-1]:.0f} s")
        if max_steps and step >= max_steps:
            break
    model.eval()
    return seconds, step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--data", type=Path, default=None, help="MNIST directory (default: $TINYGAN_DATA, the cache)")
    parser.add_argument("--out", type=Path, default=None, help="write the .npz and .json here (default: the package)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop training early (smoke test)")
    parser.add_argument("--subset", type=int, default=10000, help="training images in the subset baseline")
    parser.add_argument("--domain", choices=DOMAIN_READERS, default=None,
                        help="train on MNIST passed through this transform (default: MNIST itself)")
    args = parser.parse_args(argv)
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    tinygan.manual_seed(args.seed)
    train_x, train_y = load_mnist("train", root=args.data)
    test_x, test_y = load_mnist("test", root=args.data)
    if args.domain:
        transform = get_domain(args.domain)
        train_x, test_x = transform(train_x), transform(test_x)
    loader = DataLoader(train_x, train_y, batch_size=args.batch_size, shuffle=True, drop_last=True,
                        device="cpu", seed=args.seed)
    model = MnistClassifier(device="cpu")
    log(f"{model}\n{model.num_parameters():,} parameters; {len(loader)} steps per epoch")

    seconds, steps = train(model, loader, args.epochs, args.lr, args.max_steps, log)

    start = time.perf_counter()
    test_feats, test_probs = features_and_probs(test_x, model=model)
    accuracy = float((test_probs.argmax(axis=1) == test_y).mean())
    log(f"test accuracy {accuracy:.4f} ({time.perf_counter() - start:.0f} s for 10,000 images)")
    real_mu, real_sigma = feature_statistics(test_feats)

    train_feats, _ = features_and_probs(train_x, model=model)
    subset = np.random.Generator(np.random.PCG64(args.seed)).choice(len(train_x), args.subset, replace=False)
    baselines = {
        f"train_{args.subset // 1000}k_vs_test": frechet_distance(*feature_statistics(train_feats[subset]),
                                                                   real_mu, real_sigma),
        "train_60k_vs_test": frechet_distance(*feature_statistics(train_feats), real_mu, real_sigma),
    }
    log(f"real-vs-real FID: {baselines}")

    state = model.state_dict()
    arrays = {**state, "real_mu": real_mu, "real_sigma": real_sigma}
    out_dir = args.out or weights_path(args.domain).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    weights_file, record_file = out_dir / weights_path(args.domain).name, out_dir / record_path(args.domain).name
    with atomic_write(weights_file) as f:
        np.savez(f, **arrays)
    digest = hashlib.sha256(b"".join(state[k].tobytes() for k in state)).hexdigest()
    record = {
        "architecture": "Conv(1,32,5,p2)-ReLU-MaxPool2-Conv(32,64,5,p2)-ReLU-MaxPool2-Flatten-"
                        "Linear(3136,128)-ReLU [features] -Linear(128,10)",
        "parameters": model.num_parameters(),
        "test_accuracy": accuracy,
        "seed": args.seed,
        "epochs": args.epochs,
        "steps": steps,
        "batch_size": args.batch_size,
        "optimizer": f"Adam(lr={args.lr}, last epoch lr={args.lr / 10})",
        "training_seconds": round(sum(seconds), 1),
        "seconds_per_epoch": [round(s, 1) for s in seconds],
        "fid_real_vs_real": baselines[f"train_{args.subset // 1000}k_vs_test"],
        "fid_real_vs_real_all": baselines,
        "domain": args.domain or "mnist",
        "real_statistics": "real_mu, real_sigma in the .npz: float64 mean and covariance of the 128-d "
                           f"features of the 10,000 MNIST test images{' in domain ' + args.domain if args.domain else ''}",
        "weights_sha256": digest,
        "machine": {"numpy": np.__version__, "python": platform.python_version(),
                    "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "cpu": platform.machine()},
    }
    with atomic_write(record_file) as f:
        f.write((json.dumps(record, indent=2) + "\n").encode())
    log(f"wrote {weights_file} ({weights_file.stat().st_size / 1e6:.2f} MB) and {record_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
