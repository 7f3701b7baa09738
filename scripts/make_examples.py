"""Draws the example images in examples/ (made here, no outside data): an object on a
transparent background and one on a plain background. Deterministic: re-running gives the same files."""

from pathlib import Path

import numpy as np
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SUPERSAMPLE = 4


def grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates at SUPERSAMPLE times the resolution."""
    ys, xs = np.mgrid[0 : height * SUPERSAMPLE, 0 : width * SUPERSAMPLE].astype(np.float64)
    return (xs + 0.5) / SUPERSAMPLE, (ys + 0.5) / SUPERSAMPLE


def downsample(array: np.ndarray) -> np.ndarray:
    height, width = array.shape[0] // SUPERSAMPLE, array.shape[1] // SUPERSAMPLE
    shaped = array.reshape(height, SUPERSAMPLE, width, SUPERSAMPLE, *array.shape[2:])
    return shaped.mean(axis=(1, 3))


def shade(base: tuple[int, int, int], xs, ys, cx, cy, radius) -> np.ndarray:
    """A soft top-left light on a round shape."""
    distance = np.hypot(xs - (cx - radius * 0.35), ys - (cy - radius * 0.35)) / (radius * 1.6)
    light = np.clip(1.15 - 0.55 * distance, 0.45, 1.15)
    return np.stack([np.clip(channel * light, 0, 255) for channel in base], axis=-1)


def duck() -> None:
    """A yellow rubber duck on a transparent background (RGBA PNG)."""
    width = height = 640
    xs, ys = grid(width, height)
    body = ((xs - 300) / 210) ** 2 + ((ys - 420) / 150) ** 2 <= 1
    tail = ((xs - 120) / 80) ** 2 + ((ys - 330) / 60) ** 2 <= 1
    head = np.hypot(xs - 410, ys - 220) <= 110
    beak = ((xs - 535) / 70) ** 2 + ((ys - 245) / 28) ** 2 <= 1
    eye = np.hypot(xs - 440, ys - 195) <= 16
    colour = np.zeros(xs.shape + (3,))
    colour[...] = shade((250, 205, 40), xs, ys, 320, 360, 260)
    colour[beak] = shade((240, 120, 30), xs, ys, 535, 245, 70)[beak]
    colour[eye] = (25, 25, 30)
    alpha = (body | tail | head | beak).astype(np.float64) * 255
    rgba = np.concatenate([colour * (alpha[..., None] / 255), alpha[..., None]], axis=-1)
    rgba = downsample(rgba)
    coverage = np.maximum(rgba[..., 3:4], 1e-6) / 255
    rgba[..., :3] = np.where(rgba[..., 3:4] > 0, rgba[..., :3] / coverage, 0)
    Image.fromarray(np.round(rgba).astype(np.uint8), "RGBA").save(EXAMPLES / "duck.png", optimize=True)


def ring() -> None:
    """An orange ring (a real hole through it) photographed on a plain light backdrop (JPEG)."""
    width, height = 800, 600
    xs, ys = grid(width, height)
    rng = np.random.default_rng(7)
    backdrop = 236 - 10 * (ys / (height * 1.0))
    image = np.stack([backdrop, backdrop, backdrop + 3], axis=-1)
    distance = np.hypot(xs - 400, ys - 300)
    ring_mask = (distance <= 210) & (distance >= 90)
    ring_colour = shade((235, 120, 45), xs, ys, 400, 300, 210)
    image[ring_mask] = ring_colour[ring_mask]
    image = downsample(image)
    image += rng.normal(0, 1.5, image.shape)
    Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8), "RGB").save(EXAMPLES / "ring.jpg", quality=92)


def main() -> None:
    EXAMPLES.mkdir(exist_ok=True)
    duck()
    ring()


if __name__ == "__main__":
    main()
