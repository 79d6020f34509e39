"""A CycloneDX 1.6 SBOM of exactly what is deployed: the function's code, the dependencies layer and the model layer.

    python -m infra.sbom --build .aws-sam/build [--out build/sbom.cdx.json]

Every distribution in the dependencies layer with its version, purl, licence and the sha256 of the
wheel pip installed (from pip's installation report, which `infra.build deps` leaves beside the
layer; each hash is also one that requirements.lock allows); the function's code with a hash over
its files; the model with its version and the sha256 of its files. Validated against the CycloneDX
schema (cyclonedx-python-lib's strict validator) before it is written. `make sam-build` and
`make sbom` write it; `python -m infra.release verify-layer --sbom FILE` checks a deployed layer against it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

from infra.paths import ROOT
from model import manifest as manifest_io

SPEC = "1.6"
FUNCTION_REF, MODEL_REF = "function", "model-layer"
SHORT_LICENCE = 100  # a licence field longer than this is the licence's text, not its name


def report_path(layer: Path) -> Path:
    """Where building the dependencies layer `layer` leaves pip's installation report: beside it, not in it."""
    return layer.parent / f"{layer.name}.pip-report.json"


class SbomError(RuntimeError):
    """The build cannot be described, or the description is not valid CycloneDX."""


def tree_sha256(directory: Path) -> str:
    """One sha256 over every file's path and bytes, in sorted order: the same tree gives the same hash."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _licences(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    expression = metadata.get("license_expression")
    if expression:
        return [{"expression": expression}]
    text = (metadata.get("license") or "").strip()
    if text and len(text) <= SHORT_LICENCE and "\n" not in text:
        return [{"license": {"name": text}}]
    named = [c.split(" :: ")[-1] for c in metadata.get("classifier", []) if c.startswith("License :: ")]
    return [{"license": {"name": name}} for name in named]


def _lock_hashes() -> dict[str, set[str]]:
    """name -> every sha256 requirements.lock allows for it."""
    allowed: dict[str, set[str]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==", line)
        if found:
            name = found.group(1).lower().replace("_", "-")
        allowed.setdefault(name, set()).update(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return allowed


def dependencies(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One component per distribution pip installed into the layer, from its installation report."""
    allowed, components = _lock_hashes(), []
    for item in report["install"]:
        metadata, archive = item["metadata"], item["download_info"].get("archive_info", {})
        name, version = metadata["name"], metadata["version"]
        sha = archive.get("hashes", {}).get("sha256") or archive.get("hash", "").removeprefix("sha256=")
        key = name.lower().replace("_", "-")
        if sha not in allowed.get(key, set()):
            raise SbomError(f"{name} {version}: the wheel installed (sha256 {sha}) is not one requirements.lock allows")
        components.append(
            {
                "type": "library",
                "bom-ref": f"pkg:pypi/{key}@{version}",
                "name": name,
                "version": version,
                "purl": f"pkg:pypi/{key}@{version}",
                "hashes": [{"alg": "SHA-256", "content": sha}],
                "licenses": _licences(metadata),
                "properties": [{"name": "wdbc:part", "value": "DependenciesLayer"}],
            }
        )
    return sorted(components, key=lambda c: str(c["name"]).lower())


def model_component(model_dir: Path) -> dict[str, Any]:
    release = manifest_io.release(json.loads((model_dir / manifest_io.FILE).read_text()))
    files = sorted(p for p in model_dir.iterdir() if p.is_file())
    return {
        "type": "machine-learning-model",
        "bom-ref": MODEL_REF,
        "name": "wdbc-classifier-model",
        "version": release.model_version,
        "hashes": [{"alg": "SHA-256", "content": tree_sha256(model_dir)}],
        "properties": [
            {"name": "wdbc:part", "value": "ModelLayer"},
            *({"name": f"wdbc:sha256:{p.name}", "value": hashlib.sha256(p.read_bytes()).hexdigest()} for p in files),
        ],
    }


def document(build_dir: Path) -> dict[str, Any]:
    """The SBOM of a `sam build` output."""
    function = build_dir / "ClassifierFunction"
    report = json.loads(report_path(build_dir / "DependenciesLayer").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    libraries = dependencies(report)
    model = model_component(build_dir / "ModelLayer" / "model")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC,
        # Derived from the contents, so that the same build gives the same document.
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, tree_sha256(function) + model['version'])}",
        "version": 1,
        "metadata": {
            "component": {
                "type": "application",
                "bom-ref": FUNCTION_REF,
                "name": "wdbc-classifier-function",
                "version": version,
                "description": "Research proof of concept, not a diagnostic tool: the Lambda function's code.",
                "hashes": [{"alg": "SHA-256", "content": tree_sha256(function)}],
                "properties": [{"name": "aws:lambda:handler", "value": "handler.lambda_function.handler"}],
            }
        },
        "components": [*libraries, model],
        "dependencies": [
            {"ref": FUNCTION_REF, "dependsOn": [c["bom-ref"] for c in libraries] + [MODEL_REF]},
            *({"ref": c["bom-ref"], "dependsOn": []} for c in [*libraries, model]),
        ],
    }


def validate(text: str) -> None:
    """Refuse a document the CycloneDX schema does not accept."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise SbomError(f"the SBOM is not valid CycloneDX {SPEC}: {error}")


def write(build_dir: Path, out: Path) -> dict[str, Any]:
    sbom = document(build_dir)
    text = json.dumps(sbom, indent=2) + "\n"
    validate(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return sbom


def model_hashes(sbom: dict[str, Any]) -> dict[str, str]:
    """file name -> sha256 of the model layer's files, as the SBOM records them."""
    [model] = [c for c in sbom["components"] if c["bom-ref"] == MODEL_REF]
    prefix = "wdbc:sha256:"
    return {p["name"].removeprefix(prefix): p["value"] for p in model["properties"] if p["name"].startswith(prefix)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=ROOT / ".aws-sam" / "build", help="a sam build output")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "sbom.cdx.json")
    args = parser.parse_args(argv)
    try:
        sbom = write(args.build, args.out)
    except (SbomError, FileNotFoundError) as err:
        sys.stderr.write(f"{err}\n")
        return 2
    sys.stdout.write(f"{args.out}: {len(sbom['components'])} components, model {sbom['components'][-1]['version']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
