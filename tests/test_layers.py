"""The model layer: packaging refuses a broken artifact; publishing and rollback against moto."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra import package, publish

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


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[publish.Clients]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients = publish.Clients.default(REGION)
        clients.s3.create_bucket(Bucket="layers")
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("handler/__init__.py", "")
        deps = clients.lambda_.publish_layer_version(
            LayerName="wdbc-deps", Content={"ZipFile": b"PK\x05\x06" + b"\0" * 18}
        )
        clients.lambda_.create_function(
            FunctionName="classifier",
            Runtime="python3.13",
            Role=role,
            Handler="handler.lambda_function.handler",
            Code={"ZipFile": code.getvalue()},
            Layers=[deps["LayerVersionArn"]],
        )
        yield clients


def _layers(clients: publish.Clients) -> list[str]:
    return [layer["Arn"] for layer in clients.lambda_.get_function_configuration(FunctionName="classifier")["Layers"]]


def test_publish_then_publish_again_then_roll_back(aws: publish.Clients, layer_zip: Path) -> None:
    # GIVEN a function with a dependencies layer WHEN a model layer is published for it
    first = publish.publish(aws, layer_zip, "layers", "classifier")
    # THEN the zip is in S3, a layer version exists, and the function uses it beside its other layer
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket="layers")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith(f"{publish.LAYER_NAME}/")
    assert _layers(aws)[1] == first and ":layer:wdbc-deps:" in _layers(aws)[0]
    # WHEN a second version is published THEN it replaces the first, and the other layer stays
    second = publish.publish(aws, layer_zip, "layers", "classifier")
    assert second != first and _layers(aws) == [_layers(aws)[0], second]
    # WHEN rolled back THEN the function uses the first version again
    assert publish.rollback(aws, "classifier") == first
    assert _layers(aws)[1] == first
    # AND a version can be named
    assert publish.rollback(aws, "classifier", to_version=2) == second
    with pytest.raises(publish.PublishError, match=r"has no version 9; versions: \[1, 2\]"):
        publish.rollback(aws, "classifier", to_version=9)


def test_a_layer_whose_checksum_does_not_match_is_refused(aws: publish.Clients, layer_zip: Path) -> None:
    layer_zip.write_bytes(layer_zip.read_bytes() + b"tampered")
    with pytest.raises(publish.PublishError, match="refusing to publish a changed or damaged layer"):
        publish.publish(aws, layer_zip, "layers", "classifier")
    assert "Contents" not in aws.s3.list_objects_v2(Bucket="layers")
    assert publish.versions(aws) == []


def test_missing_checksum_file_is_refused(aws: publish.Clients, layer_zip: Path) -> None:
    layer_zip.with_name("model-layer.zip.sha256").unlink()
    with pytest.raises(publish.PublishError, match=r"\.sha256 is missing"):
        publish.publish(aws, layer_zip, "layers", None)
