"""Features from nuclear outlines: analytic shapes, invariances, texture, aggregation, the API's bounds and
errors, the command over files and folders, and the cold start untouched."""

from __future__ import annotations

import base64
import csv
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cohort.csvio import read_csv
from handler.limits import MAX_ERROR_BYTES
from infra.paths import ROOT
from local.events import event
from model import features
from model.demo_image import demo
from model.errors import InputError
from model.schema import FEATURE_NAMES, MEASUREMENT_NAMES
from tests.support import Answer

Invoke = Callable[[dict[str, Any]], Answer]
LENGTHS, AREAS = ("radius", "perimeter"), ("area",)


def ngon(n: int, r: float, centre: tuple[float, float] = (500.0, 500.0), turn: float = 0.0) -> np.ndarray:
    t = turn + 2 * math.pi * np.arange(n) / n
    return np.column_stack([centre[0] + r * np.cos(t), centre[1] + r * np.sin(t)])


def ellipse(a: float, b: float, n: int = 1000) -> np.ndarray:
    t = 2 * math.pi * np.arange(n) / n
    return np.column_stack([500 + a * np.cos(t), 500 + b * np.sin(t)])


def star(notches: int, depth: float, n: int = 720, r: float = 100.0, stretch: float = 1.0) -> np.ndarray:
    """A disc (or, stretched, an ellipse) with `notches` V-shaped notches of relative `depth`, each 0.2 rad wide."""
    t = 2 * math.pi * np.arange(n) / n
    away = np.abs((t * notches / (2 * math.pi)) % 1.0 - 0.5) * 2 * math.pi / notches  # radians from a notch's centre
    radius = r * (1 - depth * np.clip(1 - away / 0.1, 0, None))
    return np.column_stack([500 + stretch * radius * np.cos(t), 500 + radius * np.sin(t)])


def koch(level: int, side: float = 600.0) -> np.ndarray:
    points = np.add([[0.0, 0.0], [side / 2, -side * math.sqrt(3) / 2], [side, 0.0]], [100.0, 700.0])
    for _ in range(level):
        grown = []
        for a, b in zip(points, np.roll(points, -1, axis=0), strict=True):
            d = (b - a) / 3
            turn = math.atan2(d[1], d[0]) - math.pi / 3
            tip = a + d + math.hypot(*d) * np.array([math.cos(turn), math.sin(turn)])
            grown += [a, a + d, tip, a + 2 * d]
        points = np.array(grown)
    return points


def measured(points: np.ndarray, scale: float = 1.0) -> dict[str, float]:
    return features.measure(features.check_outline(points, 0, None), scale, None)


def test_a_regular_polygon_measures_as_computed_by_hand() -> None:
    for n, r in ((6, 10.0), (7, 20.0), (64, 50.0)):
        m = measured(ngon(n, r))
        perimeter = 2 * n * r * math.sin(math.pi / n)
        area = n / 2 * r * r * math.sin(2 * math.pi / n) + 1.0  # plus the half boundary pixels (Pick)
        assert m["radius"] == pytest.approx(r, abs=1e-9)
        assert m["perimeter"] == pytest.approx(perimeter, abs=1e-9)
        assert m["area"] == pytest.approx(area, rel=1e-12)
        assert m["compactness"] == pytest.approx(perimeter**2 / (4 * math.pi * area) - 1, abs=1e-12)
        assert m["smoothness"] == pytest.approx(0.0, abs=1e-12)
        assert m["concavity"] == 0.0 and m["concave_points"] == 0.0
        assert m["symmetry"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(("ratio", "compactness"), [(1.5, 0.063), (2.0, 0.189)])
def test_ellipses_have_the_compactness_the_data_fit(ratio: float, compactness: float) -> None:
    m = measured(ellipse(300.0 * ratio, 300.0))
    assert m["compactness"] == pytest.approx(compactness, abs=1e-3)
    assert m["symmetry"] == pytest.approx(0.0, abs=1e-6) and m["concavity"] == 0.0


def test_notches_make_concave_points_and_depth_makes_concavity() -> None:
    points = [measured(star(k, 0.2))["concave_points"] for k in (3, 6, 9)]
    assert points[0] < points[1] < points[2]
    depths = [measured(star(6, d))["concavity"] for d in (0.05, 0.15, 0.3)]
    assert 0 < depths[0] < depths[1] < depths[2]
    assert measured(star(6, 0.2))["symmetry"] < 0.05  # six notches are still symmetric about the axis


def test_the_koch_curve_has_its_fractal_dimension_across_the_rulers() -> None:
    for level in (4, 5):
        assert measured(koch(level))["fractal_dimension"] == pytest.approx(math.log(4) / math.log(3) - 1, abs=0.03)
    assert measured(ellipse(300, 200))["fractal_dimension"] < 0.01  # a smooth outline: near 0


def test_rotation_translation_start_and_direction_change_nothing() -> None:
    base = star(5, 0.2, n=360, stretch=1.4)  # elongated: its major axis is well defined
    reference = measured(base)
    turn = 0.7
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    for moved in (
        (base - 500) @ rotation.T + 500,
        np.add(base, [123.5, -77.25]),
        np.roll(base, 37, axis=0),
        base[::-1],
    ):
        again = measured(moved)
        for name, value in reference.items():
            tolerance = 0.01 if name == "fractal_dimension" else 1e-6 * max(1.0, abs(value))
            assert again[name] == pytest.approx(value, abs=tolerance), name


def test_scale_moves_lengths_linearly_and_areas_quadratically() -> None:
    base, scaled = measured(ngon(9, 40.0)), measured(ngon(9, 40.0), scale=0.25)
    for name, value in base.items():
        factor = 0.25 if name in LENGTHS else 0.0625 if name in AREAS else 1.0
        assert scaled[name] == pytest.approx(value * factor, rel=1e-12), name


def _brute_texture(points: np.ndarray, image: np.ndarray) -> float:
    """Every pixel centre tested against the polygon (even-odd rule), one by one."""
    values = []
    n = len(points)
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            inside = False
            for i in range(n):
                (ax, ay), (bx, by) = points[i], points[(i + 1) % n]
                if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                    inside = not inside
            if inside:
                values.append(image[y, x])
    return float(np.std(values))


def test_texture_is_the_sd_of_the_grey_levels_inside_only() -> None:
    rng = np.random.default_rng(0)
    image = np.full((60, 60), 250.0)  # a bright background, which must not count
    image[10:50, 10:50] = rng.normal(100, 12, (40, 40)).round()
    outline = ngon(11, 15.3, centre=(30.2, 29.7))
    found = features.measure(features.check_outline(outline, 0, (60, 60)), 1.0, image)["texture"]
    assert found == pytest.approx(_brute_texture(outline, image), abs=1e-9)
    flat = features.measure(features.check_outline(outline, 0, (60, 60)), 1.0, np.full((60, 60), 7.0))
    assert flat["texture"] == 0.0


def test_the_summary_is_mean_standard_error_and_worst() -> None:
    nuclei = [measured(ngon(n, r)) for n, r in ((6, 10), (8, 14), (12, 9), (7, 20), (9, 16))]
    summary = features.summarise(nuclei)
    for name in MEASUREMENT_NAMES:
        if name == "texture":
            continue
        values = np.array([n[name] for n in nuclei])
        assert summary[f"{name}_mean"] == pytest.approx(values.mean())
        assert summary[f"{name}_se"] == pytest.approx(values.std(ddof=1) / math.sqrt(len(values)))
        assert summary[f"{name}_worst"] == pytest.approx(np.sort(values)[-3:].mean())
    # The bound a mean of per-nucleus compactness must meet (Cauchy-Schwarz), on every extracted set
    for extracted in (summary, features.extract(demo().outlines, None, None).features):
        bound = extracted["perimeter_mean"] ** 2 / (4 * math.pi * extracted["area_mean"]) - 1
        assert extracted["compactness_mean"] >= bound - 1e-12


def _body(outlines: Any, image: np.ndarray | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"outlines": outlines, **extra}
    if image is not None:
        pixels = base64.b64encode(image.astype(np.uint8).tobytes()).decode()
        body["image"] = {"width": image.shape[1], "height": image.shape[0], "pixels": pixels}
    return body


def test_the_demo_through_the_function_gives_features_ready_to_predict(invoke: Invoke) -> None:
    d = demo()
    found = invoke(event("v2", "POST", "/features", _body(d.outlines, d.pixels, scale=0.5)))
    assert found.status == 200, found.body
    answer = found.body
    assert list(answer["features"]) == list(FEATURE_NAMES) and answer["missing"] == []
    assert answer["n_nuclei"] == len(d.outlines) == len(answer["nuclei"])
    assert answer["conventions"] == features.CONVENTIONS and "not the original program's" in answer["safeguards"]
    assert "not a diagnostic tool" in answer["disclaimer"] and answer["warnings"] == []
    predicted = invoke(event("v2", "POST", "/predict", {"features": answer["features"]}))
    assert predicted.status == 200 and predicted.body["label"] in ("benign", "malignant")


def test_geojson_as_qupath_exports_it(invoke: Invoke) -> None:
    d = demo()

    def cell(points: list[list[float]]) -> dict[str, Any]:
        ring = [*points, points[0]]
        big = [[x * 1.5, y * 1.5] for x, y in ring]  # the cell, larger: the nucleus is what counts
        return {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [big]},
            "nucleusGeometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"objectType": "cell"},
        }

    collection = {"type": "FeatureCollection", "features": [cell(o) for o in d.outlines]}
    plain = invoke(event("v2", "POST", "/features", _body(d.outlines)))
    for outlines in (collection, collection["features"]):
        answer = invoke(event("v2", "POST", "/features", _body(outlines)))
        assert answer.status == 200 and answer.body["features"] == plain.body["features"]
    # AND without an image the texture features are missing, and the answer says so
    assert plain.body["missing"] == ["texture_mean", "texture_se", "texture_worst"]
    assert any("cannot be measured" in w for w in plain.body["warnings"])
    assert any("scale left at 1" in w for w in plain.body["warnings"])
    refused = invoke(event("v2", "POST", "/predict", {"features": plain.body["features"]}))
    assert refused.status == 422 and "texture_mean" in json.dumps(refused.body)


SQUARE = [[10.0, 10.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0]]


@pytest.mark.parametrize(
    ("outlines", "image", "field", "rule"),
    [
        ([SQUARE, SQUARE], None, "outlines", "nuclei"),
        ([SQUARE] * (features.MAX_NUCLEI + 1), None, "outlines", "nuclei"),
        ([SQUARE, SQUARE, [[1, 1], [1, 1], [2, 2], [1, 1]]], None, "outlines[2]", "three_points"),
        ([SQUARE, [[0, 0], [10, 10], [10, 0], [0, 20]], SQUARE], None, "outlines[1]", "simple"),
        ([[[0, 0], [5, 5], [10, 10]], SQUARE, SQUARE], None, "outlines[0]", "nonzero_area"),
        ([SQUARE, SQUARE, [[10, 10], [90, 10], [90, 90]]], np.zeros((40, 40)), "outlines[2]", "inside_image"),
        ([SQUARE, SQUARE, [[1, 2], "x", [3, 4]]], None, "outlines[2]", "points"),
        ([SQUARE, SQUARE, {"type": "MultiPolygon", "coordinates": []}], None, "outlines[2]", "polygon"),
        ([SQUARE, SQUARE, [[i, i % 7] for i in range(features.MAX_VERTICES + 1)]], None, "outlines[2]", "vertices"),
    ],
)
def test_bad_outlines_are_refused_naming_the_nucleus_and_the_rule(
    invoke: Invoke, outlines: list[Any], image: np.ndarray | None, field: str, rule: str
) -> None:
    answer = invoke(event("v2", "POST", "/features", _body(outlines, image)))
    assert answer.status == 422, answer.body
    [violation] = answer.body["error"]["violations"]
    assert violation["field"] == field and violation["rule"] == rule
    assert len(json.dumps(answer.body)) <= MAX_ERROR_BYTES


def test_a_bad_pixel_buffer_is_refused(invoke: Invoke) -> None:
    short = {"width": 40, "height": 40, "pixels": base64.b64encode(bytes(1599)).decode()}
    answer = invoke(event("v2", "POST", "/features", {"outlines": [SQUARE] * 3, "image": short}))
    assert answer.status == 422 and answer.body["error"]["violations"][0]["rule"] == "pixel_count"
    assert "expected 1600 bytes (40 x 40), got 1599" in answer.body["error"]["detail"]
    garbled = {"width": 2, "height": 2, "pixels": "not base64!"}
    answer = invoke(event("v2", "POST", "/features", {"outlines": [SQUARE] * 3, "image": garbled}))
    assert answer.status == 422 and answer.body["error"]["violations"][0]["rule"] == "base64"
    for scale in (0, -1):
        answer = invoke(event("v2", "POST", "/features", {"outlines": [SQUARE] * 3, "scale": scale}))
        assert answer.status == 422 and "scale" in json.dumps(answer.body)


def test_non_finite_coordinates_are_refused() -> None:
    for far in (math.inf, 2e6):
        with pytest.raises(InputError, match=r"outlines\[0\]: every coordinate must be a finite number within 1e"):
            features.check_outline([[0, 0], [far, 1], [2, 3]], 0, None)
    with pytest.raises(InputError, match=r"scale: expected length units per pixel in \(0, 1000\], got 1e\+300"):
        features.extract(demo().outlines, 1e300, None)


def test_what_only_some_routes_use_is_not_imported_at_init(artifact_dir: Path) -> None:
    # The extractor, the counterfactual search and the case index: each imported on its first request.
    first_use = ["model.features", "model.counterfactual", "model.similar"]
    code = f"import sys, handler.lambda_function; print([m for m in {first_use!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={"MODEL_DIR": str(artifact_dir)},
        timeout=120, check=False,
    )  # fmt: skip
    assert done.stdout.strip().endswith("[]"), done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.integration
def test_the_command_measures_a_file_and_a_folder(tmp_path: Path) -> None:
    from PIL import Image

    d = demo()
    for name, shift in (("case-1", 0.0), ("case-2", 3.0), ("case-3", 6.0)):
        outlines = [[[x + shift, y] for x, y in o] for o in d.outlines]
        collection = {"type": "FeatureCollection", "features": []}
        for o in outlines:
            ring = [*o, o[0]]
            collection["features"].append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}})
        (tmp_path / f"{name}.geojson").write_text(json.dumps(collection))
        Image.fromarray(d.pixels).save(tmp_path / f"{name}.png")
    (tmp_path / "labels.csv").write_text("id,diagnosis\ncase-1,B\ncase-2,M\ncase-3,B\n")
    command = [sys.executable, "-m", "model", "features"]
    one = subprocess.run(
        [*command, str(tmp_path / "case-1.geojson"), "--image", str(tmp_path / "case-1.png"), "--scale", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    answer = json.loads(one.stdout)
    assert one.returncode == 0 and answer["missing"] == [] and answer["conventions"] == features.CONVENTIONS
    out = tmp_path / "cohort.csv"
    many = subprocess.run(
        [*command, str(tmp_path), "--labels", str(tmp_path / "labels.csv"), "--scale", "0.5", "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert many.returncode == 0, many.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["id"] for r in rows] == ["case-1", "case-2", "case-3"] and rows[1]["diagnosis"] == "M"
    table = read_csv(out, require_labels=True)
    assert table.row_errors == [] and table.x.shape == (3, 30)
    assert table.x[0, list(FEATURE_NAMES).index("radius_mean")] == pytest.approx(answer["features"]["radius_mean"])


def test_the_docs_show_the_demos_figures() -> None:
    from cohort.outlines import demo_table

    text = (ROOT / "docs" / "images.md").read_text()
    shown = text.split("<!-- demo:figures -->\n", 1)[1].split("\n<!-- /demo:figures -->", 1)[0]
    assert shown == demo_table()
