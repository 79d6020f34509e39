"""The 30 WDBC features from nuclear outlines (and, for texture, a greyscale image): numpy only.

WDBC's features were measured on snakes fitted to each nucleus in a fine-needle-aspirate image, ten per
nucleus, then summarised per image as mean, standard error and worst (the mean of the three largest)
(Street, Wolberg and Mangasarian 1993; UCI's wdbc.names). Several of the original program's normalisations
were never published and no original outlines exist, so these are this project's conventions, named and
versioned as CONVENTIONS: an exploration, never a claim to reproduce the original numbers.

Conventions "wdbc-outline-1", per nucleus (an outline is a polygon in pixel coordinates, `scale` units per pixel):
- radius: the mean distance from the polygon's centroid to its vertices (the snake's points);
- perimeter: the polygon's length;
- area: the shoelace area plus one pixel (pixels inside plus half the boundary pixels: Pick's theorem, exact for
  an outline through boundary pixels' centres), in units squared;
- texture: the standard deviation (not the variance: the data's range, 9.7 to 39.3, fits 8-bit levels) of the grey
  levels of the pixels whose centres lie inside the outline;
- smoothness: the mean over vertices of |r_i - (r_{i-1} + r_{i+1}) / 2| over the mean radius (dimensionless);
- compactness: perimeter^2 / (4 pi area) - 1, zero for a disc (the data fit this, not the published
  perimeter^2 / area - 1: compactness_mean >= perimeter_mean^2 / (4 pi area_mean) - 1 on all 569 rows);
- concavity: the mean over vertices of how far inside the chord of the convex hull that spans it each vertex lies,
  over the mean radius (zero for a convex outline);
- concave points: the share of vertices that lie inside such a chord (zero for a convex outline);
- symmetry: sum |upper - lower| / sum (upper + lower) over SYMMETRY_LINES lines perpendicular to the major axis,
  upper and lower the outline's distances from the axis along each line (zero for a mirror-symmetric outline);
- fractal dimension: the coastline method: the outline walked with rulers of the mean radius over 2, 4, ... 64,
  minus the slope of log(measured length) on log(ruler) (near 0 for a smooth outline, log 4 / log 3 - 1 for
  Koch's curve across the rulers' range).
Per image: mean; standard error = the standard deviation with n - 1 degrees of freedom over sqrt(n); worst = the
mean of the three largest values.
"""

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from model.arrays import FloatArray
from model.errors import InputError, Violation
from model.schema import FEATURE_NAMES, MAX_SCALE, MEASUREMENT_NAMES, STATISTIC_NAMES

CONVENTIONS = "wdbc-outline-1"
MIN_NUCLEI = 3
MAX_NUCLEI = 50
MAX_VERTICES = 1000  # per outline
MAX_COORDINATE = 1e6  # pixels from the origin: no image is a million pixels across
MAX_IMAGE_PIXELS = 1200 * 1200  # as base64 (4 characters per 3 pixels), 1.92 MB: within the 2 MiB body limit
WORST_OF = 3
SYMMETRY_LINES = 64
RULER_FRACTIONS = tuple(1 / 2**k for k in range(1, 7))  # of the mean radius: 1/2 to 1/64
DENSE_PER_RULER = 8  # the outline resampled at an eighth of the smallest ruler for the walk
MAX_DENSE_POINTS = 32768
TEXTURE = "texture"


# The rules an image's outlines (and its pixels) must meet that a schema cannot state; each refusal names one.
RULES = {
    "nuclei": f"{MIN_NUCLEI} to {MAX_NUCLEI} nuclei per image (the standard error and the worst need several)",
    "vertices": f"at most {MAX_VERTICES} points per outline",
    "polygon": "a GeoJSON geometry is a Polygon (its first ring the outline)",
    "points": "an outline is a list of [x, y] pairs of numbers",
    "finite": f"every coordinate is a finite number within {MAX_COORDINATE:g} of 0",
    "scale": f"scale, the length units per pixel, lies in (0, {MAX_SCALE:g}]",
    "three_points": "an outline has at least 3 distinct points",
    "inside_image": "with an image, every point lies within it (0 to width - 1, 0 to height - 1)",
    "nonzero_area": "an outline encloses some area",
    "simple": "an outline does not cross itself",
    "pixel_count": "image.pixels holds exactly width x height bytes",
    "image_pixels": f"an image holds at most {MAX_IMAGE_PIXELS} pixels",
}


class Outline(NamedTuple):
    """One nucleus's polygon, checked: counter-clockwise, no repeated closing vertex, in pixel coordinates."""

    points: FloatArray  # (n, 2)


def _problem(nucleus: int, rule: str, value: object, message: str) -> InputError:
    return InputError([Violation(f"outlines[{nucleus}]", rule, value, f"outlines[{nucleus}]: {message}")])


def _shoelace(p: FloatArray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _orient(u: FloatArray, v: FloatArray, w: FloatArray) -> FloatArray:
    return np.sign(
        (v[..., 0] - u[..., 0]) * (w[..., 1] - u[..., 1]) - (v[..., 1] - u[..., 1]) * (w[..., 0] - u[..., 0])
    )


def _crosses(p: FloatArray) -> bool:
    """Whether any two non-adjacent edges of the closed polygon properly intersect (in blocks of rows, so that
    memory stays bounded by MAX_VERTICES)."""
    a, b = p, np.roll(p, -1, axis=0)
    n, block = len(p), 128
    j = np.arange(n)
    for start in range(0, n, block):
        i = np.arange(start, min(start + block, n))[:, None]
        ai, bi, aj, bj = a[i], b[i], a[None, :], b[None, :]
        proper = (_orient(ai, bi, aj) * _orient(ai, bi, bj) < 0) & (_orient(aj, bj, ai) * _orient(aj, bj, bi) < 0)
        near = (np.abs(i - j) <= 1) | (np.abs(i - j) == n - 1)  # an edge and its neighbours share a vertex
        if (proper & ~near).any():
            return True
    return False


def check_outline(points: Sequence[Sequence[float]], nucleus: int, size: tuple[int, int] | None) -> Outline:
    """The outline as the extractor uses it; InputError naming the nucleus and the rule otherwise."""
    try:
        p = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise _problem(nucleus, "points", "not numbers", "expected a list of [x, y] points of numbers") from err
    if p.ndim != 2 or p.shape[1] != 2:
        raise _problem(nucleus, "points", list(p.shape), f"expected a list of [x, y] points, got shape {list(p.shape)}")
    if not np.all(np.isfinite(p)) or np.abs(p).max() > MAX_COORDINATE:
        message = f"every coordinate must be a finite number within {MAX_COORDINATE:g} of 0"
        raise _problem(nucleus, "finite", "out of range", message)
    if len(p) > 1 and np.array_equal(p[0], p[-1]):
        p = p[:-1]  # GeoJSON rings repeat their first point
    keep = np.r_[True, np.any(p[1:] != p[:-1], axis=1)]
    p = p[keep]
    distinct = len(np.unique(p, axis=0))
    if distinct < 3:
        raise _problem(nucleus, "three_points", distinct, f"an outline needs 3 distinct points, got {distinct}")
    if size is not None:
        width, height = size
        outside = (p[:, 0] < 0) | (p[:, 1] < 0) | (p[:, 0] > width - 1) | (p[:, 1] > height - 1)
        if outside.any():
            x, y = p[np.argmax(outside)]
            where = f"({x:g}, {y:g})"
            raise _problem(nucleus, "inside_image", where, f"point {where} lies outside the {width} x {height} image")
    area = _shoelace(p)
    if abs(area) < 1e-9:
        raise _problem(nucleus, "nonzero_area", 0.0, "the outline encloses no area")
    if _crosses(p):
        raise _problem(nucleus, "simple", "crossing", "the outline crosses itself; trace each nucleus once around")
    return Outline(p if area > 0 else p[::-1].copy())


def _centroid(p: FloatArray) -> FloatArray:
    x, y = p[:, 0], p[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2
    cx = ((x + np.roll(x, -1)) * cross).sum() / (6 * area)
    cy = ((y + np.roll(y, -1)) * cross).sum() / (6 * area)
    return np.array([cx, cy])


def _hull(p: FloatArray) -> np.ndarray:
    """Indices of the convex hull's vertices, counter-clockwise (Andrew's monotone chain)."""
    order = np.lexsort((p[:, 1], p[:, 0]))

    def chain(indices: np.ndarray) -> list[int]:
        out: list[int] = []
        for i in indices:
            while len(out) >= 2:
                o, a = p[out[-2]], p[out[-1]]
                if (a[0] - o[0]) * (p[i][1] - o[1]) - (a[1] - o[1]) * (p[i][0] - o[0]) > 1e-12:
                    break
                out.pop()
            out.append(int(i))
        return out

    lower, upper = chain(order), chain(order[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _concavity(p: FloatArray, mean_radius: float) -> tuple[float, float]:
    """(concavity, concave points): how far each vertex lies inside the hull chord spanning it."""
    on_hull = np.zeros(len(p), dtype=bool)
    on_hull[_hull(p)] = True
    depth = np.zeros(len(p))
    hull_at = np.flatnonzero(on_hull)
    for start, end in zip(hull_at, np.roll(hull_at, -1), strict=True):
        inside = np.arange(start + 1, end if end > start else end + len(p)) % len(p)
        if len(inside) == 0:
            continue
        a, b = p[start], p[end]
        chord = b - a
        length = math.hypot(*chord)
        depth[inside] = np.abs(chord[0] * (p[inside, 1] - a[1]) - chord[1] * (p[inside, 0] - a[0])) / length
    concave = depth > 1e-9 * mean_radius
    return float(depth.mean() / mean_radius), float(concave.mean())


def _major_axis(p: FloatArray, centre: FloatArray) -> FloatArray:
    """The unit vector of the outline's major axis (second moments of its vertices); when they are isotropic
    (a regular polygon), the direction of the vertex farthest from the centre."""
    d = p - centre
    moments = d.T @ d / len(d)
    values, vectors = np.linalg.eigh(moments)
    if values[1] - values[0] > 1e-9 * values[1]:
        return np.asarray(vectors[:, 1])
    far = d[np.argmax(np.hypot(d[:, 0], d[:, 1]))]
    return np.asarray(far / np.hypot(*far))


def _symmetry(p: FloatArray, centre: FloatArray) -> float:
    axis = _major_axis(p, centre)
    d = p - centre
    u = d @ axis  # along the major axis
    v = d @ np.array([-axis[1], axis[0]])  # across it
    lines = np.linspace(u.min(), u.max(), SYMMETRY_LINES + 2)[1:-1]
    u1, v1, u2, v2 = u, v, np.roll(u, -1), np.roll(v, -1)
    crossing = ((u1 <= lines[:, None]) & (u2 > lines[:, None])) | ((u2 <= lines[:, None]) & (u1 > lines[:, None]))
    with np.errstate(divide="ignore", invalid="ignore"):
        at = v1 + (lines[:, None] - u1) * (v2 - v1) / (u2 - u1)
    upper = np.where(crossing, at, -np.inf).max(axis=1)
    lower = -np.where(crossing, at, np.inf).min(axis=1)
    upper, lower = np.maximum(upper, 0.0), np.maximum(lower, 0.0)
    return float(np.abs(upper - lower).sum() / (upper + lower).sum())


def _dense(p: FloatArray, count: int) -> FloatArray:
    closed = np.vstack([p, p[:1]])
    lengths = np.hypot(*np.diff(closed, axis=0).T)
    at = np.r_[0.0, np.cumsum(lengths)]
    s = np.linspace(0.0, at[-1], count, endpoint=False)
    return np.column_stack([np.interp(s, at, closed[:, 0]), np.interp(s, at, closed[:, 1])])


def _walk(points: FloatArray, ruler: float, spacing: float) -> float:
    """The length of the closed outline measured by stepping a divider of `ruler` along its dense points (each
    step ends exactly where the circle of the ruler crosses the outline), plus the last, shorter step home."""
    n = len(points)
    window = 4 * math.ceil(ruler / spacing) + 8  # a chord is never longer than its arc
    current, i, steps = points[0], 0, 0
    while True:
        ahead = points[i + 1 : i + 1 + window]
        far = np.flatnonzero(np.hypot(*(ahead - current).T) >= ruler)
        if len(far) == 0:
            if i + 1 + window >= n:  # the rest of the outline is within one ruler of here
                return steps * ruler + float(np.hypot(*(points[0] - current)))
            i += window
            continue
        j = i + 1 + int(far[0])
        a, d = points[j - 1] - current, points[j] - points[j - 1]
        # |a + t d| = ruler, for t in (0, 1]: the crossing on the segment from point j - 1 to point j
        qa, qb, qc = float(d @ d), 2 * float(a @ d), float(a @ a) - ruler**2
        t = (-qb + math.sqrt(max(qb * qb - 4 * qa * qc, 0.0))) / (2 * qa)
        current, i, steps = points[j - 1] + t * d, j - 1, steps + 1


def _fractal(p: FloatArray, perimeter: float, mean_radius: float) -> float:
    rulers = np.array(RULER_FRACTIONS) * mean_radius
    count = min(MAX_DENSE_POINTS, math.ceil(perimeter * DENSE_PER_RULER / rulers[-1]))
    dense = _dense(p, count)
    lengths = np.array([_walk(dense, r, perimeter / count) for r in rulers])
    slope = np.polyfit(np.log(rulers), np.log(lengths), 1)[0]
    return max(0.0, float(-slope))  # a smooth outline's estimate can fall a hair below 0


def _texture(outline: Outline, image: FloatArray) -> float:
    """The standard deviation of the grey levels whose pixel centres lie inside the outline: row by row, the
    spans between the outline's crossings of the row (even-odd rule)."""
    p = outline.points
    a, b = p, np.roll(p, -1, axis=0)
    values = []
    for y in range(max(0, math.ceil(p[:, 1].min())), min(image.shape[0] - 1, math.floor(p[:, 1].max())) + 1):
        straddles = (a[:, 1] > y) != (b[:, 1] > y)
        xa, ya, xb, yb = a[straddles, 0], a[straddles, 1], b[straddles, 0], b[straddles, 1]
        crossings = np.sort(xa + (y - ya) * (xb - xa) / (yb - ya))
        for left, right in zip(crossings[0::2], crossings[1::2], strict=True):
            first, last = max(0, math.ceil(left)), min(image.shape[1] - 1, math.floor(right))
            if last >= first:
                values.append(image[y, first : last + 1])
    if not values:
        return 0.0
    return float(np.concatenate(values).std())


def measure(outline: Outline, scale: float, image: FloatArray | None) -> dict[str, float]:
    """The ten measurements of one nucleus (texture only with an image)."""
    p = outline.points
    centre = _centroid(p)
    r = np.hypot(*(p - centre).T)
    mean_radius = float(r.mean())
    perimeter = float(np.hypot(*np.diff(np.vstack([p, p[:1]]), axis=0).T).sum())
    area = _shoelace(p) + 1.0
    concavity, concave_points = _concavity(p, mean_radius)
    out = {
        "radius": mean_radius * scale,
        "perimeter": perimeter * scale,
        "area": area * scale**2,
        "smoothness": float(np.abs(r - (np.roll(r, 1) + np.roll(r, -1)) / 2).mean() / mean_radius),
        "compactness": perimeter**2 / (4 * math.pi * area) - 1.0,
        "concavity": concavity,
        "concave_points": concave_points,
        "symmetry": _symmetry(p, centre),
        "fractal_dimension": _fractal(p, perimeter, mean_radius),
    }
    if image is not None:
        out[TEXTURE] = _texture(outline, image)
    return {name: out[name] for name in MEASUREMENT_NAMES if name in out}


def summarise(nuclei: Sequence[dict[str, float]]) -> dict[str, float]:
    """The image's features: mean, standard error (n - 1 degrees of freedom) and worst (mean of the three largest)
    of each measurement, named as the model's features."""
    out: dict[str, float] = {}
    for name in MEASUREMENT_NAMES:
        if name not in nuclei[0]:
            continue
        values = np.array([n[name] for n in nuclei])
        by = {
            "mean": float(values.mean()),
            "se": float(values.std(ddof=1) / math.sqrt(len(values))),
            "worst": float(np.sort(values)[-WORST_OF:].mean()),
        }
        out.update({f"{name}_{stat}": by[stat] for stat in STATISTIC_NAMES})
    return {name: out[name] for name in FEATURE_NAMES if name in out}


SAFEGUARDS = (
    "Research use only, not a diagnostic tool. These features follow this project's conventions "
    f"({CONVENTIONS}), not the original program's, whose normalisations were never published; the model was "
    "trained on the original's. Check the out-of-distribution flag, and judge the model on your own labelled "
    "images (python -m model evaluate), before relying on any answer."
)


class Extraction(NamedTuple):
    """An image's features: the 30 (or 27 without an image), each nucleus's ten, what is missing and why."""

    features: dict[str, float]
    nuclei: list[dict[str, float]]
    missing: list[str]
    warnings: list[str]

    def answer(self) -> dict[str, Any]:
        """The answer's fields, as POST /features and `python -m model features` give them (the envelope apart)."""
        return {
            "features": self.features,
            "nuclei": self.nuclei,
            "n_nuclei": len(self.nuclei),
            "missing": self.missing,
            "conventions": CONVENTIONS,
            "safeguards": SAFEGUARDS,
            "warnings": self.warnings,
        }


def _ring(geometry: object, where: str) -> object:
    """A GeoJSON Polygon's exterior ring (holes are not nuclei)."""
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise InputError(
            [Violation(where, "polygon", str(kind)[:40], f"{where}: expected a Polygon geometry, got {str(kind)[:40]}")]
        )
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise InputError([Violation(where, "polygon", "no rings", f"{where}: a Polygon needs its coordinates")])
    return rings[0]


def polygons_of(outlines: object) -> list[object]:
    """Each nucleus's points from GeoJSON as QuPath exports it (a FeatureCollection or a list of Features; a cell's
    nucleusGeometry when present, else its geometry) or from a plain list of polygons."""
    if isinstance(outlines, dict) and outlines.get("type") == "FeatureCollection":
        outlines = outlines.get("features")
    if not isinstance(outlines, list):
        raise InputError(
            [
                Violation(
                    "outlines",
                    "outlines",
                    type(outlines).__name__,
                    "outlines: expected a GeoJSON FeatureCollection, a list of Features or a list of polygons",
                )
            ]
        )
    if not MIN_NUCLEI <= len(outlines) <= MAX_NUCLEI:
        message = f"outlines: expected {MIN_NUCLEI} to {MAX_NUCLEI} nuclei, got {len(outlines)}"
        raise InputError([Violation("outlines", "nuclei", len(outlines), message)])
    polygons = []
    for i, item in enumerate(outlines):
        where = f"outlines[{i}]"
        if isinstance(item, dict) and item.get("type") == "Feature":
            polygons.append(_ring(item.get("nucleusGeometry") or item.get("geometry"), where))
        elif isinstance(item, dict):
            polygons.append(_ring(item, where))
        else:
            polygons.append(item)
        points = polygons[-1]
        if isinstance(points, list) and len(points) > MAX_VERTICES:
            message = f"{where}: expected at most {MAX_VERTICES} points, got {len(points)}; simplify the outline"
            raise InputError([Violation(where, "vertices", len(points), message)])
    return polygons


def extract(outlines: object, scale: float | None, image: FloatArray | None) -> Extraction:
    """The features of one image's nuclei; InputError names the nucleus and the rule of any bad outline."""
    if scale is not None and not 0 < scale <= MAX_SCALE:
        message = f"scale: expected length units per pixel in (0, {MAX_SCALE:g}], got {scale:g}"
        raise InputError([Violation("scale", "scale", scale, message)])
    size = None if image is None else (image.shape[1], image.shape[0])
    checked = [check_outline(points, i, size) for i, points in enumerate(polygons_of(outlines))]  # type: ignore[arg-type]
    nuclei = [measure(outline, 1.0 if scale is None else scale, image) for outline in checked]
    features = summarise(nuclei)
    missing = [name for name in FEATURE_NAMES if name not in features]
    warnings = []
    if scale is None:
        warnings.append(
            "scale left at 1: lengths are in pixels and areas in square pixels; give the length unit per pixel "
            "that matches the training data's units, or radius, perimeter and area will not be comparable"
        )
    if missing:
        warnings.append(
            f"no image: {', '.join(missing)} cannot be measured, so /predict cannot run on these features; "
            "send the image's grey levels to measure texture"
        )
    return Extraction(features, nuclei, missing, warnings)
