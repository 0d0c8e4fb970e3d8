"""ProGAN's growth schedule: which resolution and which fade-in alpha after n real images.

    level 0 (4x4):   stable for S images
    level l >= 1:    fade for F images (alpha = (n - start) / F, from 0 up to 1), then stable for S
The last stable phase lasts until training stops. The phase is a pure function of the number
of real images shown, so a resumed run is at the same resolution and alpha as an unbroken one.
"""

from __future__ import annotations


class GrowthSchedule:
    def __init__(self, levels, fade_images, stable_images):
        for name, value in (("levels", levels), ("fade_images", fade_images), ("stable_images", stable_images)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GrowthSchedule: {name}: expected a positive integer, got {value!r}")
        self.levels, self.fade_images, self.stable_images = levels, fade_images, stable_images

    def phases(self):
        """[(kind, level, first image, images)] in order: ("stable", 0, 0, S), ("fade", 1, S, F), ..."""
        out, start = [("stable", 0, 0, self.stable_images)], self.stable_images
        for level in range(1, self.levels):
            out.append(("fade", level, start, self.fade_images))
            out.append(("stable", level, start + self.fade_images, self.stable_images))
            start += self.fade_images + self.stable_images
        return out

    def __str__(self):
        """The schedule in words (a recipe card's schedule line)."""
        sides = [f"{4 * 2**level}x{4 * 2**level}" for level in range(1, self.levels)]
        grown = f"; then {', '.join(sides)}, each faded in over {self.fade_images:,} and stable for " \
                f"{self.stable_images:,}" if sides else ""
        return f"growth (real images): 4x4 stable for {self.stable_images:,}{grown}; the last stable phase " \
               "lasts until training stops"

    @property
    def total_images(self):
        return self.stable_images + (self.levels - 1) * (self.fade_images + self.stable_images)

    def at(self, images):
        """(level, alpha) after ``images`` real images."""
        if images < 0:
            raise ValueError(f"GrowthSchedule.at: images: expected a non-negative count, got {images}")
        for kind, level, start, length in reversed(self.phases()):
            if images >= start:
                alpha = min(1.0, (images - start) / length) if kind == "fade" else 1.0
                return level, alpha
        raise AssertionError("unreachable: the first phase starts at 0")
