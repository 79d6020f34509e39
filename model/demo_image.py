"""The synthetic demo for POST /features and the page: ellipses of known geometry and texture on a plain
background, made by this project (said to be synthetic wherever it is shown). Numpy only, deterministic."""

import math
from typing import NamedTuple

import numpy as np

WIDTH, HEIGHT = 240, 160
BACKGROUND = 200.0
# (centre x, centre y, semi-axis a, semi-axis b, rotation, mean grey level, grey-level SD)
NUCLEI = (
    (50.0, 50.0, 22.0, 15.0, 0.3, 90.0, 18.0),
    (130.0, 45.0, 18.0, 16.0, -0.5, 80.0, 22.0),
    (195.0, 60.0, 25.0, 14.0, 1.1, 100.0, 15.0),
    (70.0, 115.0, 20.0, 17.0, 0.0, 85.0, 20.0),
    (160.0, 115.0, 26.0, 18.0, 0.7, 95.0, 25.0),
)
POINTS = 48  # the outline's vertices: as many as a snake's
NOTE = (
    "Synthetic: ellipses of known axes with normally distributed grey levels, drawn by this project, not a "
    "cytology image. It shows how the extractor behaves; its features say nothing about any tumour."
)


class Demo(NamedTuple):
    pixels: np.ndarray  # (HEIGHT, WIDTH) grey levels 0 to 255
    outlines: list[list[list[float]]]  # each nucleus's polygon, in pixel coordinates


def demo() -> Demo:
    rng = np.random.default_rng(20261202)
    image = np.full((HEIGHT, WIDTH), BACKGROUND)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    outlines = []
    for cx, cy, a, b, angle, level, sd in NUCLEI:
        c, s = math.cos(angle), math.sin(angle)
        u, v = (xs - cx) * c + (ys - cy) * s, -(xs - cx) * s + (ys - cy) * c
        inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
        image[inside] = rng.normal(level, sd, int(inside.sum()))
        t = 2 * math.pi * np.arange(POINTS) / POINTS
        x, y = cx + a * np.cos(t) * c - b * np.sin(t) * s, cy + a * np.cos(t) * s + b * np.sin(t) * c
        outlines.append([[round(float(px), 2), round(float(py), 2)] for px, py in zip(x, y, strict=True)])
    return Demo(np.clip(np.round(image), 0, 255).astype(np.uint8), outlines)
