"""The artifact: reproducible bytes, and a distinct, clear error for every way it can be broken."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import threadpoolctl

from infra.paths import ROOT
from model import artifact
from model import manifest as manifest_io
from model.errors import (
    ArtifactMissingError,
    ChecksumError,
    FormatVersionError,
    ManifestError,
    NonFiniteArrayError,
    ShapeError,
)
from model.predictor import Predictor
from training import cli, data


@pytest.fixture
def copy(artifact_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(artifact_dir, tmp_path / "model"))


# slow: trains the quick profile a second time
@pytest.mark.slow
def test_same_data_and_seed_give_identical_bytes(artifact_dir: Path, tmp_path: Path) -> None:
    # GIVEN a second quick run with the same data and seed
    again = tmp_path / "again"
    assert cli.main(["--profile", "quick", "--seed", "0", "--jobs", "2", "--out", str(again)]) == 0
    # THEN model.npz and manifest.json are byte-identical, whatever the number of workers
    for name in (artifact.ARRAYS, artifact.MANIFEST):
        assert (again / name).read_bytes() == (artifact_dir / name).read_bytes(), name


def test_artifact_files_and_manifest(artifact_dir: Path) -> None:
    for name in ("manifest.json", "model.npz", "pipeline.joblib", "metrics.json", "oof.npz", "explanations.npz"):
        assert (artifact_dir / name).is_file(), name
    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    assert manifest["format_version"] == artifact.FORMAT_VERSION
    assert len(manifest["model_version"]) == 12
    assert manifest["data"]["n_rows"] == 569
    assert len(manifest["data"]["sha256"]) == 64
    assert {"balanced", "screening"} == set(manifest["operating_points"])
    with zipfile.ZipFile(artifact_dir / "model.npz") as archive:
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    with np.load(artifact_dir / "model.npz", allow_pickle=False) as arrays:
        assert arrays["scaler_mean"].shape == (30,)


def test_missing_file(copy: Path) -> None:
    (copy / "model.npz").unlink()
    with pytest.raises(ArtifactMissingError, match=r"model.npz does not exist; run `python -m training`"):
        artifact.load(copy)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissingError, match=r"manifest\.json does not exist"):
        artifact.load(tmp_path / "nowhere")


def test_tampered_arrays(copy: Path) -> None:
    data = bytearray((copy / "model.npz").read_bytes())
    data[-200] ^= 0x01
    (copy / "model.npz").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"has sha256 [0-9a-f]{64}, the manifest expects [0-9a-f]{64}"):
        artifact.load(copy)


def test_edited_manifest(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["operating_points"]["balanced"]["threshold"] = 0.01
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ChecksumError, match="was edited after training"):
        artifact.load(copy)


def test_wrong_format_version(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        FormatVersionError, match=rf"artifact format version 99 .* expected {artifact.FORMAT_VERSION}; retrain"
    ):
        artifact.load(copy)


def test_manifest_not_json(copy: Path) -> None:
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="is not valid JSON"):
        artifact.load(copy)


def _rewrite(copy: Path, change: dict[str, np.ndarray], drop: str | None = None) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    with np.load(copy / "model.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if k != drop}
    arrays.update(change)
    artifact.write_document(copy, manifest, arrays)


def test_shape_mismatch(copy: Path) -> None:
    _rewrite(copy, {"scaler_mean": np.zeros(29)})
    with pytest.raises(ShapeError, match=r"array 'scaler_mean' has shape \(29,\); expected d=30"):
        artifact.load(copy)


def test_inconsistent_support_vectors(copy: Path) -> None:
    _rewrite(copy, {"dual_coef": np.zeros(3)})
    with pytest.raises(ShapeError, match=r"array 'dual_coef' has shape \(3,\); expected I="):
        artifact.load(copy)


def test_missing_array(copy: Path) -> None:
    _rewrite(copy, {}, drop="ood_precision")
    with pytest.raises(ShapeError, match="lacks the array 'ood_precision'"):
        artifact.load(copy)


def test_manifest_without_a_section(copy: Path) -> None:
    _rewrite_manifest(copy, lambda m: m.pop("examples"))
    with pytest.raises(ManifestError, match="manifest field examples is missing; retrain"):
        artifact.load(copy)


def _rewrite_manifest(copy: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Change the manifest and write it back as training would, so that only the change is wrong."""
    manifest = json.loads((copy / "manifest.json").read_text())
    change(manifest)
    with np.load(copy / "model.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    artifact.write_document(copy, manifest, arrays)


def test_manifest_field_of_the_wrong_type_is_named(copy: Path) -> None:
    def change(m: dict[str, Any]) -> None:
        m["operating_points"]["balanced"]["threshold"] = "high"

    _rewrite_manifest(copy, change)
    with pytest.raises(ManifestError, match=r"operating_points\.balanced\.threshold must be a number, got str"):
        artifact.load(copy)


def test_manifest_that_is_not_an_object(copy: Path) -> None:
    (copy / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ManifestError, match="must hold a JSON object, got list"):
        artifact.load(copy)


def test_unknown_model_kind(copy: Path) -> None:
    def change(m: dict[str, Any]) -> None:
        m["model"]["kind"] = "forest"

    _rewrite_manifest(copy, change)
    with pytest.raises(ManifestError, match=r"model kind 'forest' is not one of \('rbf', 'linear'\)"):
        artifact.load(copy)


def test_model_dir_that_is_a_file(copy: Path) -> None:
    with pytest.raises(ArtifactMissingError, match="is a file; point MODEL_DIR at the directory"):
        artifact.load(copy / "manifest.json")


def test_non_finite_array(copy: Path) -> None:
    _rewrite(copy, {"scaler_scale": np.full(30, np.nan)})
    with pytest.raises(NonFiniteArrayError, match="array 'scaler_scale' holds non-finite values"):
        artifact.load(copy)


@pytest.mark.parametrize("profile", ["quick", "linear"])
def test_manifest_round_trips_through_its_one_definition(
    artifact_dir: Path, linear_artifact_dir: Path, profile: str
) -> None:
    # GIVEN a manifest as training wrote it (RBF and linear models), parsed into its typed form
    directory = artifact_dir if profile == "quick" else linear_artifact_dir
    raw = json.loads((directory / "manifest.json").read_text())
    parsed = manifest_io.parse(raw)
    # THEN writing it gives back the same JSON, field for field, and parsing that again the same values
    written = manifest_io.document(parsed)
    assert written == raw
    assert manifest_io.parse(json.loads(json.dumps(written))) == parsed
    # AND the bytes are those training wrote
    assert artifact.json_bytes(written) == (directory / "manifest.json").read_bytes()
    # AND every field of the typed form was written (none is silently dropped; an absent lineage is no field)
    assert set(written) == {name for name in parsed._fields if getattr(parsed, name) is not None}
    assert parsed.lineage is None


def test_the_card_is_the_manifest_without_its_internals(artifact_dir: Path) -> None:
    parsed = artifact.load(artifact_dir).manifest
    card = manifest_io.card(parsed)
    written = manifest_io.document(parsed)
    assert {k: v for k, v in card.items()} == {k: written[k] for k in card}
    assert not {"files", "platform", "libraries", "training", "format_version"} & set(card)
    assert manifest_io.release(card) == manifest_io.release(written)


def test_manifest_records_the_blas_kernel(artifact_dir: Path) -> None:
    blas = artifact.load(artifact_dir).manifest.platform["blas"]
    info = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    assert blas and {b["architecture"] for b in blas} == {str(i["architecture"]) for i in info}
    assert all(b["library"] and b["version"] for b in blas)


# slow: trains the quick model again in a subprocess under another BLAS kernel
@pytest.mark.integration
@pytest.mark.slow
def test_another_blas_kernel_gives_the_same_model_within_tolerance(
    artifact_dir: Path, tmp_path: Path, dataset: data.Dataset
) -> None:
    # GIVEN the same data and seed trained where OpenBLAS runs another kernel, as on another machine
    other = tmp_path / "other"
    command = [
        sys.executable,
        "-m",
        "training",
        "--profile",
        "quick",
        "--seed",
        "0",
        "--jobs",
        "1",
        "--out",
        str(other),
    ]
    env = {**os.environ, "OPENBLAS_CORETYPE": "Prescott"}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
    here, there = Predictor.load(artifact_dir), Predictor.load(other)
    # THEN its manifest names that kernel
    assert {b["architecture"] for b in there.manifest.platform["blas"]} == {"Katmai"}
    # AND the model is the same one: family, hyper-parameters, labels at every operating point, and
    # probabilities within 1e-8 on all 569 rows (bytes may differ: kernels round differently)
    assert there.manifest.model.family == here.manifest.model.family
    assert there.manifest.model.hyperparameters == here.manifest.model.hyperparameters
    assert np.max(np.abs(there.probability(dataset.x) - here.probability(dataset.x))) <= 1e-8
    for name in here.operating_points:
        ours = [p.label for p in here.predict(dataset.x, operating_point=name)]
        assert [p.label for p in there.predict(dataset.x, operating_point=name)] == ours


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("operating_points", "balanced", "threshold"),
            1.5,
            r"operating_points\.balanced\.threshold must lie in \(0, 1\)",
        ),
        (("conformal", "levels", 0, "alpha"), 0.0, r"conformal\.levels\[0\]\.alpha must lie in \(0, 1\)"),
        (("conformal", "levels", 1, "benign_if_p_at_most"), -0.2, r"benign_if_p_at_most must lie in \[0, 1\]"),
    ],
)
def test_thresholds_and_levels_out_of_range_are_refused(
    copy: Path, path: tuple[Any, ...], value: float, message: str
) -> None:
    def change(m: dict[str, Any]) -> None:
        target: Any = m
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    _rewrite_manifest(copy, change)
    with pytest.raises(ManifestError, match=message):
        artifact.load(copy)


@pytest.mark.slow  # trains a quick artifact: about 17 s
def test_if_outdated_keeps_a_current_artifact_and_retrains_an_older_format(
    copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="training")
    # GIVEN an artifact of the current format
    before = (copy / artifact.ARRAYS).read_bytes()
    command = ["--profile", "quick", "--seed", "0", "--jobs", "1", "--out", str(copy), "--if-outdated"]
    # WHEN `make run` asks for it THEN it is kept, saying so
    assert cli.outdated(copy) is None
    assert cli.main(command) == 0
    assert (copy / artifact.ARRAYS).read_bytes() == before and "current format" in caplog.text
    # GIVEN the format of an older release (as after a pull that bumps it)
    document = json.loads((copy / artifact.MANIFEST).read_text())
    document["format_version"] = artifact.FORMAT_VERSION - 1
    (copy / artifact.MANIFEST).write_text(json.dumps(document))
    # THEN the reason names both formats, and training writes a loadable artifact of this code's format
    assert cli.outdated(copy) == (
        f"{copy}/ holds artifact format {artifact.FORMAT_VERSION - 1}, this code reads {artifact.FORMAT_VERSION}: "
        "training again"
    )
    assert cli.main(command) == 0
    assert Predictor.load(copy).manifest.format_version == artifact.FORMAT_VERSION
