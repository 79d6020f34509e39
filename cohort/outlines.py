"""`python -m model features`: the WDBC features from nuclear outlines, for one image or a folder of them.

One GeoJSON file (QuPath's export) prints the answer POST /features gives; a folder of NAME.geojson files, each
with its image NAME.png, NAME.tif or NAME.tiff beside it, becomes one cohort CSV (one row per image, the
project's column names, `id` the file's stem, `diagnosis` joined from --labels), ready for `evaluate`, `update`
and `python -m training --data`. Images are read with Pillow, which the function never ships.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from model import features
from model.errors import CsvError, InputError
from model.schema import FEATURE_NAMES, envelope

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


def read_image(path: Path) -> np.ndarray:
    """The image as 8-bit grey levels (Pillow's luminance conversion for colour images)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), dtype=np.float64)
    except (UnidentifiedImageError, OSError) as err:
        raise CsvError(f"{path}: not an image Pillow can read ({err})") from err


def read_outlines(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise CsvError(f"{path}: no such file") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CsvError(f"{path}: not GeoJSON: {err}") from err


def one(path: Path, image_path: Path | None, scale: float | None) -> dict[str, Any]:
    """The same answer as POST /features, without the model's version (no model is involved)."""
    image = read_image(image_path) if image_path is not None else None
    return {**features.extract(read_outlines(path), scale, image).answer(), **envelope("none: features only")}


def _labels(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"id", "diagnosis"} <= set(rows[0]):
        raise CsvError(f"{path}: line 1: expected the columns 'id' and 'diagnosis' (M/B or malignant/benign)")
    return {row["id"].strip(): row["diagnosis"].strip() for row in rows}


def folder(directory: Path, scale: float | None, labels_path: Path | None) -> tuple[str, list[str]]:
    """The cohort CSV of every NAME.geojson in `directory` with its image, and a message per image refused."""
    labels = _labels(labels_path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", *(["diagnosis"] if labels else []), *FEATURE_NAMES])
    problems = []
    for path in sorted(directory.glob("*.geojson")):
        image = next((path.with_suffix(s) for s in IMAGE_SUFFIXES if path.with_suffix(s).exists()), None)
        if image is None:
            problems.append(f"{path.name}: no image {path.stem}{'/'.join(IMAGE_SUFFIXES)} beside it: texture needs it")
            continue
        if labels and path.stem not in labels:
            problems.append(f"{path.name}: no label for id {path.stem!r} in {labels_path}")
            continue
        try:
            found = one(path, image, scale)
        except InputError as err:
            problems.append(f"{path.name}: {err}")
            continue
        values = [repr(found["features"][name]) for name in FEATURE_NAMES]
        writer.writerow([path.stem, *([labels[path.stem]] if labels else []), *values])
    return buffer.getvalue(), problems


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every image was measured, 1 when some were refused, 2 when nothing could be."""
    if args.source.is_dir():
        text, problems = folder(args.source, args.scale, args.labels)
        for problem in problems:
            sys.stderr.write(f"WARNING model: {problem}\n")
        if text.count("\n") <= 1:
            raise CsvError(f"{args.source}: no image could be measured")
        code = 1 if problems else 0
    else:
        text, code = json.dumps(one(args.source, args.image, args.scale), indent=2) + "\n", 0
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    return code


def demo_table() -> str:
    """The synthetic demo's nuclei as drawn and as measured (scale 1): the table docs/images.md shows."""
    from model.demo_image import NUCLEI, demo

    made = demo()
    found = features.extract(made.outlines, None, made.pixels.astype(np.float64))
    lines = [
        "| nucleus | axes (px) | area drawn (pi a b + 1) | area measured | grey SD drawn | texture measured "
        "| compactness measured (exact ellipse) | concavity, concave points | symmetry | fractal dimension |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, ((_, _, a, b, _, _, sd), n) in enumerate(zip(NUCLEI, found.nuclei, strict=True), start=1):
        h = ((a - b) / (a + b)) ** 2
        perimeter = np.pi * (a + b) * (1 + 3 * h / (10 + np.sqrt(4 - 3 * h)))  # Ramanujan
        exact = perimeter**2 / (4 * np.pi * (np.pi * a * b + 1)) - 1
        lines.append(
            f"| {i} | {a:g} x {b:g} | {np.pi * a * b + 1:.1f} | {n['area']:.1f} | {sd:g} | {n['texture']:.2f} | "
            f"{n['compactness']:.4f} ({exact:.4f}) | {n['concavity']:.3f}, {n['concave_points']:.3f} | "
            f"{n['symmetry']:.4f} | {n['fractal_dimension']:.4f} |"
        )
    return "\n".join(lines)
