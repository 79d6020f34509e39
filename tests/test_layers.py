"""The model layer: packaging refuses a broken artifact; publishing and rollback against moto."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import deploy, package, release, sbom, teardown

REGION = "us-east-1"


@pytest.fixture
def layer_zip(artifact_dir: Path, tmp_path: Path) -> Path:
    zip_path = tmp_path / "dist" / "model-layer.zip"
    package.package(artifact_dir, tmp_path / "layer", zip_path)
    return zip_path


def test_package_lays_the_model_out_under_opt_model(layer_zip: Path, tmp_path: Path, artifact_dir: Path) -> None:
    with zipfile.ZipFile(layer_zip) as archive:
        names = sorted(archive.namelist())
        assert names == ["model/MODEL_CARD.md", "model/manifest.json", "model/model.npz"]
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    meta = json.loads((layer_zip.parent / "layer.json").read_text())
    assert meta["model_version"] == json.loads((artifact_dir / "manifest.json").read_text())["model_version"]
    assert (layer_zip.parent / "model-layer.zip.sha256").read_text().split()[0] == meta["zip_sha256"]
    # The same artifact packages to the same bytes.
    again = tmp_path / "again" / "model-layer.zip"
    package.package(artifact_dir, tmp_path / "layer2", again)
    assert again.read_bytes() == layer_zip.read_bytes()


def test_package_refuses_a_tampered_artifact(artifact_dir: Path, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(artifact_dir, tmp_path / "broken"))
    data = bytearray((broken / "model.npz").read_bytes())
    data[-100] ^= 0xFF
    (broken / "model.npz").write_bytes(bytes(data))
    assert package.main([str(broken), "--out", str(tmp_path / "out"), "--zip", str(tmp_path / "l.zip")]) == 2
    assert not (tmp_path / "l.zip").exists()


def test_package_refuses_a_layer_that_would_hold_more_than_the_model(artifact_dir: Path, tmp_path: Path) -> None:
    # GIVEN a layer directory where something else waits beside the model (python/ would go on sys.path)
    out = tmp_path / "layer"
    (out / "python").mkdir(parents=True)
    (out / "python" / "sitecustomize.py").write_text("import os\n")
    # THEN packaging refuses it, naming what may not ship
    with pytest.raises(package.PackageError, match=r"holds \['python/sitecustomize.py'\] beside the model"):
        package.package(artifact_dir, out)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, layer_zip: Path) -> Iterator[tuple[Any, release.Stack]]:
    """A function with three published versions (two models), a live alias, and the stack's outputs, in moto."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        lam = boto3.client("lambda", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("handler/__init__.py", "")
        layer = lam.publish_layer_version(LayerName="model", Content={"ZipFile": layer_zip.read_bytes()})
        lam.create_function(
            FunctionName="classifier",
            Runtime="python3.13",
            Role=role,
            Handler="handler.lambda_function.handler",
            Code={"ZipFile": code.getvalue()},
            Layers=[layer["LayerVersionArn"]],
        )
        for model in ("aaaaaaaaaaaa", "aaaaaaaaaaaa", "bbbbbbbbbbbb"):
            lam.update_function_configuration(FunctionName="classifier", Description=model)
            lam.publish_version(FunctionName="classifier", Description=f"model {model}")
        lam.create_alias(FunctionName="classifier", Name="live", FunctionVersion="3")
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "FunctionName": {"Value": "classifier"},
                "LiveAlias": {"Value": "live"},
                "ModelLayerArn": {"Value": layer["LayerVersionArn"]},
            },
        }
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(StackName="wdbc", TemplateBody=json.dumps(template))
        yield lam, release.Stack.read(cloudformation, "wdbc")


def test_versions_name_their_models_and_the_live_one(aws: tuple[Any, release.Stack]) -> None:
    lam, stack = aws
    assert stack == release.Stack("classifier", "live", stack.model_layer_arn)
    listed = release.versions(lam, stack)
    assert [(v["version"], v["model"], v["live"]) for v in listed] == [
        ("1", "aaaaaaaaaaaa", False),
        ("2", "aaaaaaaaaaaa", False),
        ("3", "bbbbbbbbbbbb", True),
    ]


def test_rollback_moves_the_live_alias_and_says_which_model_is_live(aws: tuple[Any, release.Stack]) -> None:
    lam, stack = aws
    # WHEN the live version is rolled back THEN the alias points at the version before, and says its model
    assert release.rollback(lam, stack) == {"live": "2", "was": "3", "model": "aaaaaaaaaaaa"}
    assert lam.get_alias(FunctionName="classifier", Name="live")["FunctionVersion"] == "2"
    # AND forward again by name, and a version that does not exist is refused with the ones that do
    assert release.rollback(lam, stack, to="3")["model"] == "bbbbbbbbbbbb"
    with pytest.raises(release.ReleaseError, match=r"has no published version 9; versions: \['1', '2', '3'\]"):
        release.rollback(lam, stack, to="9")
    release.rollback(lam, stack, to="1")
    with pytest.raises(release.ReleaseError, match="no published version is older than the live one"):
        release.rollback(lam, stack)


def test_verify_layer_checks_contents_integrity_and_model(
    aws: tuple[Any, release.Stack], layer_zip: Path, artifact_dir: Path, tmp_path: Path
) -> None:
    lam, stack = aws
    # GIVEN the deployed layer, downloaded (moto's Location is not reachable, so the bytes are handed over)
    deployed = layer_zip.read_bytes()
    result = release.verify_layer(lam, stack, artifact_dir, fetch=lambda url: deployed)
    assert result["model_version"] == json.loads((artifact_dir / "manifest.json").read_text())["model_version"]
    # A download that differs from what Lambda reports is refused
    with pytest.raises(release.ReleaseError, match="the download is damaged"):
        release.verify_layer(lam, stack, artifact_dir, fetch=lambda url: deployed + b"\0")
    # A local artifact with another model is not the one deployed
    other = Path(shutil.copytree(artifact_dir, tmp_path / "other"))
    (other / "model.npz").write_bytes((other / "model.npz").read_bytes() + b"\0")
    with pytest.raises(release.ReleaseError, match=r"model\.npz differs from .*: another model is live"):
        release.verify_layer(lam, stack, other, fetch=lambda url: deployed)


def test_verify_layer_checks_the_layer_against_the_sbom(
    aws: tuple[Any, release.Stack], layer_zip: Path, artifact_dir: Path, tmp_path: Path
) -> None:
    lam, stack = aws
    deployed = layer_zip.read_bytes()
    # GIVEN the SBOM's description of the model layer that was built
    with zipfile.ZipFile(layer_zip) as archive:
        archive.extractall(tmp_path / "layer")
    described = sbom.model_hashes({"components": [sbom.model_component(tmp_path / "layer" / "model")]})
    assert set(described) >= {"manifest.json", "model.npz"}
    # THEN the deployed layer is that one
    release.verify_layer(lam, stack, artifact_dir, fetch=lambda url: deployed, described=described)
    # AND an SBOM that describes other bytes is refused, naming the file
    other = {**described, "model.npz": "0" * 64}
    with pytest.raises(release.ReleaseError, match=r"not the one the SBOM describes.*model\.npz"):
        release.verify_layer(lam, stack, artifact_dir, fetch=lambda url: deployed, described=other)


def test_verify_layer_refuses_a_layer_that_holds_code(aws: tuple[Any, release.Stack], artifact_dir: Path) -> None:
    lam, stack = aws
    sneaky = io.BytesIO()
    with zipfile.ZipFile(sneaky, "w") as archive:
        archive.writestr("model/manifest.json", "{}")
        archive.writestr("python/sitecustomize.py", "import os\n")
    data = sneaky.getvalue()
    code = base64.b64encode(hashlib.sha256(data).digest()).decode()
    layer = lam.publish_layer_version(LayerName="model", Content={"ZipFile": data})
    assert layer["Content"]["CodeSha256"] == code
    sneaky_stack = release.Stack(stack.function, stack.alias, layer["LayerVersionArn"])
    with pytest.raises(release.ReleaseError, match=r"holds \['python/sitecustomize.py'\]"):
        release.verify_layer(lam, sneaky_stack, artifact_dir, fetch=lambda url: data)


def test_deploy_is_guided_first_then_keeps_saved_parameters(artifact_dir: Path, tmp_path: Path) -> None:
    version = json.loads((artifact_dir / "manifest.json").read_text())["model_version"]
    config = tmp_path / "samconfig.toml"
    config.write_text('version = 0.1\n[default.deploy.parameters]\ncapabilities = "CAPABILITY_IAM"\n')
    # GIVEN no saved parameters THEN the deploy is guided, with the model version as an override
    assert deploy.command("sam", artifact_dir, config) == [
        "sam",
        "deploy",
        "--guided",
        "--parameter-overrides",
        f"ModelVersion={version}",
    ]
    # GIVEN parameters a guided deploy saved THEN they are kept, and the model version replaces the old one
    config.write_text(
        'version = 0.1\n[default.deploy.parameters]\nparameter_overrides = "MemorySize=\\"512\\" '
        'AlarmEmail=\\"ops@example.org\\" ModelVersion=\\"aaaaaaaaaaaa\\""\n'
    )
    assert deploy.command("sam", artifact_dir, config)[2:] == [
        "--parameter-overrides",
        f"MemorySize=512 AlarmEmail=ops@example.org ModelVersion={version}",
    ]


def test_delete_lists_retained_model_layers_and_deletes_them_on_yes(aws: tuple[Any, release.Stack]) -> None:
    lam, stack = aws
    name = stack.model_layer_arn.rsplit(":", 2)[1]
    lam.publish_layer_version(LayerName=name, Content={"ZipFile": b"PK\x05\x06" + b"\0" * 18}, Description="model b")
    written: list[str] = []
    # GIVEN two retained versions WHEN the answer is no THEN both are listed with their models and kept
    assert teardown.delete_layers(lam, name, lambda q: "n", written.append) == []
    assert sum(1 for line in written if line.startswith(f"  {name}:")) == 2 and written[-1] == "kept\n"
    assert len(teardown.retained(lam, name)) == 2
    # WHEN the answer is yes THEN they are deleted
    assert teardown.delete_layers(lam, name, lambda q: "yes", written.append) == [1, 2]
    assert teardown.retained(lam, name) == []
    assert teardown.layer_name(boto3.client("cloudformation", region_name=REGION), "wdbc") == name
    assert teardown.layer_name(boto3.client("cloudformation", region_name=REGION), "gone") is None
