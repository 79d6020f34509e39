"""The model artifact: `manifest.json` + `model.npz` (arrays only), written and read here.

Writing is deterministic (sorted JSON, zip entries with a fixed date) so that the same data and
seed give the same bytes; reading checks the format version, the checksum and every array shape.
"""

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from model import manifest as manifest_io
from model.arrays import FloatArray
from model.errors import (
    ArtifactMissingError,
    ChecksumError,
    FormatVersionError,
    ManifestError,
    NonFiniteArrayError,
    ShapeError,
)
from model.manifest import Manifest
from model.schema import FEATURE_NAMES, N_FEATURES

FORMAT_VERSION = 5
MANIFEST = manifest_io.FILE
ARRAYS = manifest_io.ARRAYS_FILE
KINDS = ("rbf", "linear")
# name -> shape, with "d" the number of features and other letters sizes fixed by the artifact.
COMMON_ARRAYS: dict[str, tuple[str, ...]] = {
    "scaler_mean": ("d",),
    "scaler_scale": ("d",),
    "intercept": (),
    "calibration": ("2",),  # log-odds = calibration[0] * margin + calibration[1]
    "background": ("B", "d"),
    "background_weights": ("B",),
    "ood_floor": ("d",),
    "ood_center": ("d",),
    "ood_scale": ("d",),
    "ood_precision": ("d", "d"),
    "ood_low": ("d",),
    "ood_high": ("d",),
    "ood_threshold": (),
    "ood_range_threshold": (),
    "drift_edges": ("d", "9"),  # training deciles per feature
    "drift_expected": ("d", "10"),  # training share per decile bin
    "row_hashes": ("R",),  # one per training row (cohort.evaluate.row_hashes): which cohort rows were trained on
    "training_x": ("R", "d"),  # the training rows themselves, for similar cases (model.similar)
    "training_y": ("R",),  # their diagnoses: 0 benign, 1 malignant
}
KIND_ARRAYS: dict[str, dict[str, tuple[str, ...]]] = {
    "rbf": {"support_vectors": ("I", "d"), "dual_coef": ("I",), "gamma": ()},
    "linear": {"coef": ("d",)},
}

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class Artifact(NamedTuple):
    """A loaded, verified artifact."""

    manifest: Manifest
    arrays: Mapping[str, FloatArray]

    @property
    def version(self) -> str:
        return self.manifest.model_version


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_bytes(entries: Mapping[str, bytes], compression: int = zipfile.ZIP_STORED, mode: int | None = None) -> bytes:
    """A zip archive with sorted entries and a fixed timestamp (and `mode`, if given): reproducible bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression, compresslevel=9 if compression else None) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            if mode is not None:
                info.external_attr = mode << 16
            info.compress_type = compression
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
    return buffer.getvalue()


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An .npz archive whose bytes depend on the arrays only."""
    return zip_bytes({f"{name}.npy": _npy(array) for name, array in arrays.items()})


def json_bytes(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def model_version(npz: bytes, document: Mapping[str, Any]) -> str:
    """Content hash of the arrays and the manifest (without its own version field)."""
    return sha256_bytes(npz + json_bytes(manifest_io.version_body(document)))[:12]


def write_document(directory: Path, document: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Write `model.npz` and `manifest.json` from a manifest's JSON form, sealed with this format version,
    the arrays' checksum and the model version; return the sealed document."""
    npz = npz_bytes(arrays)
    sealed = manifest_io.seal(
        document, FORMAT_VERSION, {ARRAYS: sha256_bytes(npz)}, lambda body: model_version(npz, body)
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ARRAYS).write_bytes(npz)
    (directory / MANIFEST).write_bytes(json_bytes(sealed))
    return sealed


def write(directory: Path, manifest: Manifest, arrays: Mapping[str, np.ndarray]) -> Manifest:
    """Write the artifact; return its manifest as written, with format version, checksums and model version."""
    return manifest_io.parse(write_document(directory, manifest_io.document(manifest), arrays))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise ArtifactMissingError(
            f"model artifact incomplete: {path} does not exist; run `python -m training` "
            f"or point MODEL_DIR at a directory holding {MANIFEST} and {ARRAYS}"
        ) from err


def _check_shapes(kind: str, arrays: Mapping[str, np.ndarray]) -> None:
    expected = {**COMMON_ARRAYS, **KIND_ARRAYS[kind]}
    sizes: dict[str, int] = {"d": N_FEATURES, "2": 2, "9": 9, "10": 10}
    for name, dims in expected.items():
        if name not in arrays:
            raise ShapeError(f"{ARRAYS} lacks the array '{name}' that a '{kind}' model needs")
        shape = arrays[name].shape
        if len(shape) != len(dims):
            raise ShapeError(f"array '{name}' has shape {shape}, expected {len(dims)} dimensions {dims}")
        for dim, size in zip(dims, shape, strict=True):
            if sizes.setdefault(dim, size) != size:
                raise ShapeError(
                    f"array '{name}' has shape {shape}; expected {dim}={sizes[dim]} "
                    f"(d is the number of features, {N_FEATURES})"
                )
        if not np.all(np.isfinite(arrays[name])):
            raise NonFiniteArrayError(f"array '{name}' holds non-finite values")


def _decode(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(_read(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ManifestError(f"{path} is not valid JSON: {err}; restore it or retrain") from err
    if not isinstance(document, dict):
        raise ManifestError(f"{path} must hold a JSON object, got {type(document).__name__}; restore it or retrain")
    found = manifest_io.format_version(document)
    if found != FORMAT_VERSION:
        raise FormatVersionError(
            f"artifact format version {found!r} in {path}, expected {FORMAT_VERSION}; "
            "retrain with this version of the code"
        )
    return document


def load(directory: str | Path) -> Artifact:
    """Read and verify an artifact; every failure raises a distinct ArtifactError."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise ArtifactMissingError(f"model artifact {path} is a file; point MODEL_DIR at the directory holding it")
    document = _decode(path / MANIFEST)
    npz = _read(path / ARRAYS)
    expected_sha = manifest_io.declared_sha256(document, ARRAYS)
    actual_sha = sha256_bytes(npz)
    if actual_sha != expected_sha:
        raise ChecksumError(
            f"{path / ARRAYS} has sha256 {actual_sha}, the manifest expects {expected_sha}; "
            "the file was changed or damaged: restore it or retrain"
        )
    if manifest_io.declared_version(document) != model_version(npz, document):
        raise ChecksumError(
            f"{path / MANIFEST} was edited after training: its content no longer matches "
            f"model version {manifest_io.declared_version(document)!r}"
        )
    manifest = manifest_io.parse(document)
    names = [f.name for f in manifest.features]
    if names != list(FEATURE_NAMES):
        raise ShapeError(
            f"the artifact's feature list ({len(names)} names) differs from this code's "
            f"{N_FEATURES} features in name or order"
        )
    if manifest.model.kind not in KINDS:
        raise ManifestError(f"model kind {manifest.model.kind!r} is not one of {KINDS}; retrain")
    with np.load(io.BytesIO(npz), allow_pickle=False) as archive:
        arrays = {name: np.asarray(archive[name], dtype=np.float64) for name in archive.files}
    _check_shapes(manifest.model.kind, arrays)
    if not np.all((arrays["training_y"] == 0) | (arrays["training_y"] == 1)):
        raise ShapeError("array 'training_y' must hold diagnoses 0 (benign) or 1 (malignant); retrain")
    if np.any(arrays["training_x"] < 0):
        raise ShapeError("array 'training_x' holds negative values, which no training row can have; retrain")
    return Artifact(manifest=manifest, arrays=arrays)
