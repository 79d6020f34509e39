"""Package a model artifact as a Lambda layer: the model under /opt/model.

    python -m infra.package ARTIFACT_DIR --out DIR [--zip FILE]

Refuses an artifact that fails its own checks (checksum, format, shapes, a prediction and an
explanation of its own examples). Writes DIR/model/{manifest.json, model.npz[, MODEL_CARD.md]},
and with --zip a deterministic zip beside its sha256 and a layer.json describing it.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from infra import golden
from infra.build import tree_size, zip_tree
from infra.model_layer import ALLOWED, LAYER_FILES, layer_problems
from model import artifact
from model.errors import ModelError
from model.manifest import Release
from model.predictor import Predictor
from model.schema import FEATURE_NAMES

log = logging.getLogger("infra.package")


class PackageError(ModelError):
    """The artifact may not be shipped."""


def self_check(directory: Path) -> Predictor:
    """Load the artifact and use it as the function will; any failure refuses the package."""
    predictor = Predictor.load(directory)
    examples = predictor.manifest.examples
    x = np.array([[examples[name].features[f] for f in FEATURE_NAMES] for name in ("benign", "malignant")])
    labels = [p.label for p in predictor.predict(x)]
    if labels != ["benign", "malignant"]:
        raise PackageError(f"the model misclassifies its own examples (benign, malignant) as {labels}")

    def ask(features: Mapping[str, float], operating_point: str) -> tuple[int, dict[str, Any]]:
        row = np.array([[features[f] for f in FEATURE_NAMES]])
        [p] = predictor.predict(row, operating_point=operating_point, explain=True)
        return 200, {**p.as_dict(), "model_version": predictor.version}

    manifest = predictor.manifest
    problems = golden.check(Release(manifest.model_version, manifest.examples, manifest.golden), ask)
    if problems:
        raise PackageError(f"the model does not reproduce its golden examples: {'; '.join(problems)}")
    return predictor


def check_zip(zip_path: Path) -> None:
    """Refuse a model layer zip that holds anything but the model's own files."""
    with zipfile.ZipFile(zip_path) as archive:
        extra = layer_problems(archive.namelist())
    if extra:
        raise PackageError(f"{zip_path} holds {extra[:5]}; a model layer may hold only {sorted(ALLOWED)}")


def package(source: Path, out: Path, zip_path: Path | None = None) -> dict[str, Any]:
    predictor = self_check(source)
    target = out / "model"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in LAYER_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    Predictor.load(target)  # what was copied is what was checked
    extra = layer_problems([str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()])
    if extra:
        raise PackageError(f"{out} holds {extra[:5]} beside the model; a model layer may hold only {sorted(ALLOWED)}")
    report: dict[str, Any] = {
        "model_version": predictor.version,
        "model_npz_sha256": predictor.manifest.files[artifact.ARRAYS],
        "files": sorted(p.name for p in target.iterdir()),
        "bytes": tree_size(out),
    }
    if zip_path is not None:
        report["zip_bytes"] = zip_tree(out, zip_path)
        check_zip(zip_path)
        report["zip_sha256"] = artifact.sha256_bytes(zip_path.read_bytes())
        zip_path.with_name(zip_path.name + ".sha256").write_text(f"{report['zip_sha256']}  {zip_path.name}\n")
        zip_path.with_name("layer.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", type=Path, help="artifact directory written by python -m training")
    parser.add_argument("--out", type=Path, required=True, help="layer directory (its model/ is /opt/model)")
    parser.add_argument("--zip", type=Path, default=None, help="also write the layer as a zip here")
    args = parser.parse_args(argv)
    try:
        report = package(args.artifact, args.out, args.zip)
    except ModelError as err:
        log.error("refusing to package %s: %s", args.artifact, err)
        return 2
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
