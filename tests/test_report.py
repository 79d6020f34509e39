"""The evaluation report and model card, drawn from a quick-profile artifact without refitting."""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import time
from pathlib import Path

import pytest

from training import report
from training.plots import PLOTS


@pytest.fixture(scope="module")
def drawn(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = Path(shutil.copytree(artifact_dir, tmp_path_factory.mktemp("report") / "model"))
    shutil.rmtree(copy / "report", ignore_errors=True)
    (copy / "MODEL_CARD.md").unlink(missing_ok=True)
    started = time.perf_counter()
    report.write(copy)
    assert time.perf_counter() - started < 60
    return copy


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_every_plot_exists_and_is_a_valid_image(drawn: Path) -> None:
    for plot in PLOTS:
        width, height = _png_size((drawn / "report" / f"{plot.name}.png").read_bytes())
        assert width > 300 and height > 200, plot.name


def test_html_is_self_contained(drawn: Path) -> None:
    text = (drawn / "report" / "report.html").read_text()
    assert "not a diagnostic tool" in text
    sources = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert len(sources) == len(PLOTS)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"https?://|url\(|@import", text)
    for image in re.findall(r'src="data:image/png;base64,([^"]+)"', text):
        _png_size(base64.b64decode(image))


def test_model_card_has_every_section_with_real_figures(drawn: Path) -> None:
    card = (drawn / "MODEL_CARD.md").read_text()
    metrics = json.loads((drawn / "metrics.json").read_text())
    for section in (
        "Model details",
        "Intended use",
        "Factors",
        "Metrics",
        "Training data",
        "Evaluation data",
        "How to validate this model on your data",
        "Quantitative analyses",
        "Ethical considerations",
        "Caveats and recommendations",
        "Citation of the data",
    ):
        assert f"## {section}" in card, section
    chosen = metrics["families"][metrics["selection"]["chosen"]]["summary"]
    assert f"accuracy {chosen['accuracy']['mean']:.4f}" in card
    assert f"AUC {chosen['auc']['mean']:.4f}" in card
    assert metrics["model_version"] in card and "Street" in card and "not a diagnostic tool" in card
    assert not re.search(r"\b(TODO|TBD|XXX|nan|None)\b|\{[a-z_]+\}", card)
    assert "python -m model evaluate" in card
    assert "How to validate this model on your data" in (drawn / "report" / "report.html").read_text()


def test_robustness_figures_are_in_the_report(drawn: Path) -> None:
    metrics = json.loads((drawn / "metrics.json").read_text())
    robustness = metrics["families"][metrics["selection"]["chosen"]]["robustness"]
    assert set(robustness) == {"clean", "noise_1pct", "noise_5pct", "noise_10pct", "se_block_replaced_by_medians"}
    text = (drawn / "report" / "report.html").read_text()
    assert f"{robustness['noise_10pct']['accuracy']['mean']:.4f}" in text


def test_regenerates_byte_identically(drawn: Path) -> None:
    before = {p.name: p.read_bytes() for p in [*sorted((drawn / "report").iterdir()), drawn / "MODEL_CARD.md"]}
    report.write(drawn)
    after = {p.name: p.read_bytes() for p in [*sorted((drawn / "report").iterdir()), drawn / "MODEL_CARD.md"]}
    assert before == after


def test_training_writes_the_report(artifact_dir: Path) -> None:
    assert (artifact_dir / "report" / "report.html").is_file()
    assert (artifact_dir / "MODEL_CARD.md").is_file()
