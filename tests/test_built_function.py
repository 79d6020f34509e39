"""The thing tested is the thing deployed: `sam build` output under the Lambda emulator, and its size."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import build, sbom
from infra.paths import ROOT
from local.events import event
from local.lambda_layout import Layout, from_sam_build, sizes
from model import artifact

pytestmark = [pytest.mark.integration, pytest.mark.sam]
MB = 1_000_000
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}


@pytest.fixture(scope="module")
def sam_build(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    env = {**os.environ, "ARTIFACT": str(artifact_dir)}
    result = subprocess.run(
        [str(ROOT / ".venv-sam" / "bin" / "sam"), "build", "--build-in-source", "--build-dir", str(build_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    yield build_dir


def test_built_function_answers_under_the_emulator(
    sam_build: Path, tmp_path: Path, examples: dict[str, dict[str, float]]
) -> None:
    # GIVEN the sam build output laid out as Lambda does, on a bare Python 3.13
    layout: Layout = from_sam_build(sam_build, tmp_path)
    assert not list(layout.code.glob("*/tests")), "only handler/ and model/ ship"
    assert {p.name for p in layout.code.iterdir()} == {"handler", "model"}
    with layout.start(tmp_path / "rie.log") as emulator:
        # WHEN a real API Gateway event arrives
        answer = emulator.invoke(event("v2", "POST", "/predict", {"features": examples["malignant"], "explain": True}))
        health = emulator.invoke(event("v1", "GET", "/health", content_type=None, stage_in_path=True))
        log = emulator.log()
    # THEN it answers correctly, from the bytecode that was shipped
    assert answer.status == 200 and answer.payload["statusCode"] == 200, log[-3000:]
    body = json.loads(answer.payload["body"])
    assert body["label"] == "malignant" and len(body["explanation"]["contributions"]) == 30
    assert json.loads(health.payload["body"])["status"] == "ok"
    assert "sklearn" not in log and "Traceback" not in log


def test_bytecode_is_precompiled_unchecked(sam_build: Path) -> None:
    for part in ("ClassifierFunction", "DependenciesLayer"):
        sources = list((sam_build / part).rglob("*.py"))
        compiled = list((sam_build / part).rglob("*.cpython-313.pyc"))
        assert len(compiled) >= len(sources) > 0, part
        flags = int.from_bytes(compiled[0].read_bytes()[4:8], "little")
        assert flags == 0b01, "unchecked-hash pyc: bit 0 set (hash based), bit 1 clear (not checked)"


def test_sizes_within_budget(sam_build: Path, tmp_path: Path) -> None:
    unzipped = sizes(sam_build)
    zipped = {name: build.zip_tree(sam_build / name, tmp_path / f"{name}.zip") for name in unzipped}
    assert set(unzipped) == {"ClassifierFunction", "DependenciesLayer", "ModelLayer"}
    assert sum(unzipped.values()) <= 100 * MB, unzipped
    assert sum(zipped.values()) <= 35 * MB, zipped
    deps = sam_build / "DependenciesLayer" / "python"
    for heavy in ("sklearn", "scipy", "joblib", "pandas", "boto3"):
        assert not (deps / heavy).exists(), heavy
    # The pre-traffic hook ships apart, as one module with the core's standard-library release check, and
    # imports with the standard library alone; the model layer ships the model alone
    hook = sam_build / "PreTrafficHookFunction"
    sources = sorted(str(p.relative_to(hook)) for p in hook.rglob("*.py"))
    assert sources == [
        "infra/__init__.py",
        "infra/golden.py",
        "model/__init__.py",
        "model/errors.py",
        "model/manifest.py",
        "pretraffic.py",
    ]
    code = (
        f"import sys; sys.path.insert(0, {str(hook)!r}); import pretraffic; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'boto3')))"
    )
    isolated = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=False)
    assert isolated.returncode == 0 and isolated.stdout.strip() == "[]", isolated.stderr
    model_files = {
        str(p.relative_to(sam_build / "ModelLayer")) for p in (sam_build / "ModelLayer").rglob("*") if p.is_file()
    }
    assert model_files <= {"model/manifest.json", "model/model.npz", "model/MODEL_CARD.md"}


def _elf_machine(path: Path) -> str:
    header = path.read_bytes()[:20]
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), "other")


def test_arm64_dependencies_are_all_aarch64(tmp_path: Path) -> None:
    report = build.build_deps(tmp_path / "arm64", "arm64")
    shared = [p for p in (tmp_path / "arm64" / "python").rglob("*") if p.is_file() and (".so" in p.name)]
    assert shared, "numpy and pydantic_core ship compiled code"
    machines = {_elf_machine(p) for p in shared}
    assert machines == {"aarch64"}, machines
    assert report["bytes"] <= 100 * MB


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==(\S+)", build.LOCK.read_text(), flags=re.MULTILINE)
    return {_normalised(name): version for name, version in pins}


def test_dependencies_layer_holds_exactly_the_locked_distributions(sam_build: Path) -> None:
    # GIVEN the dependencies layer as sam build made it
    site = sam_build / "DependenciesLayer" / "python"
    built = {}
    for info in site.glob("*.dist-info"):
        metadata = (info / "METADATA").read_text()
        name = re.search(r"^Name: (.+)$", metadata, flags=re.MULTILINE)
        version = re.search(r"^Version: (.+)$", metadata, flags=re.MULTILINE)
        assert name and version, info
        built[_normalised(name.group(1))] = version.group(1).strip()
    # THEN it holds every locked distribution at its locked version, and nothing else
    assert built == _locked()


def test_the_lock_pins_what_requirements_ask_for() -> None:
    # Every direct requirement is in the lock at the same version, each with at least one hash.
    direct = re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==(\S+)", (ROOT / "requirements.txt").read_text(), flags=re.M)
    locked = _locked()
    for name, version in direct:
        assert locked.get(_normalised(name)) == version, name
    text = build.LOCK.read_text()
    for block in re.split(r"\n(?=\S)", text):
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_sbom_describes_exactly_what_is_deployed(sam_build: Path, artifact_dir: Path, tmp_path: Path) -> None:
    # WHEN the SBOM of the build is written (validated against the CycloneDX schema as it is)
    document = sbom.write(sam_build, tmp_path / "sbom.cdx.json")
    libraries = [c for c in document["components"] if c["type"] == "library"]
    # THEN it names every distribution the lock pins, at its version, with a wheel hash the lock allows
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", (ROOT / "requirements.lock").read_text(), re.M))
    norm = {name.lower().replace("_", "-"): version for name, version in pinned.items()}
    assert {c["name"].lower().replace("_", "-"): c["version"] for c in libraries} == norm
    lock = (ROOT / "requirements.lock").read_text()
    assert all(c["hashes"][0]["content"] in lock and c["licenses"] for c in libraries)
    # AND the model with its version and the sha256 of each file of the layer
    model = artifact.load(artifact_dir).manifest
    [described] = [c for c in document["components"] if c["type"] == "machine-learning-model"]
    assert described["version"] == model.model_version
    assert sbom.model_hashes(document)["model.npz"] == model.files["model.npz"]
    # AND the same build gives the same document
    assert sbom.document(sam_build) == document
    # AND a document the schema refuses is not written
    broken = json.dumps({**document, "components": [{**libraries[0], "type": "wheel"}]})
    with pytest.raises(sbom.SbomError, match="not valid CycloneDX"):
        sbom.validate(broken)
