"""Publish a packaged model layer and point the function at it; roll back to an earlier version.

    python -m infra.publish publish --zip build/model-layer.zip --bucket BUCKET --function NAME
    python -m infra.publish rollback --function NAME [--to-version N]
    python -m infra.publish versions

The zip's sha256 must match the `.sha256` file written beside it by `python -m infra.package`;
a layer whose checksum does not match is refused before anything is uploaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

LAYER_NAME = "wdbc-classifier-model"
RUNTIME = "python3.13"
log = logging.getLogger("infra.publish")


class PublishError(RuntimeError):
    """The layer cannot be published or attached."""


@dataclass
class Clients:
    s3: Any
    lambda_: Any

    @classmethod
    def default(cls, region: str | None = None) -> Clients:
        return cls(boto3.client("s3", region_name=region), boto3.client("lambda", region_name=region))


def verified_sha256(zip_path: Path) -> str:
    """The zip's sha256, after checking it against the `.sha256` file beside it."""
    checksum_file = zip_path.with_name(zip_path.name + ".sha256")
    if not checksum_file.exists():
        raise PublishError(f"{checksum_file} is missing: package the layer with `python -m infra.package --zip`")
    expected = checksum_file.read_text().split()[0]
    actual = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    if actual != expected:
        raise PublishError(
            f"{zip_path} has sha256 {actual}, its checksum file says {expected}: refusing to publish a "
            "changed or damaged layer; package it again"
        )
    return actual


def _unversioned(arn: str) -> str:
    return arn.rsplit(":", 1)[0]


def point_function(clients: Clients, function: str, layer_version_arn: str) -> list[str]:
    """Replace the function's model layer (any version of the same layer) by `layer_version_arn`."""
    config = clients.lambda_.get_function_configuration(FunctionName=function)
    current = [layer["Arn"] for layer in config.get("Layers", [])]
    base = _unversioned(layer_version_arn)
    layers = [layer_version_arn if _unversioned(arn) == base else arn for arn in current]
    if layer_version_arn not in layers:
        layers.append(layer_version_arn)
    clients.lambda_.update_function_configuration(FunctionName=function, Layers=layers)
    log.info("function %s now uses %s", function, layer_version_arn)
    return layers


def publish(clients: Clients, zip_path: Path, bucket: str, function: str | None, layer: str = LAYER_NAME) -> str:
    """Upload, publish as a new layer version, and (if given) attach it to `function`. Returns its ARN."""
    sha = verified_sha256(zip_path)
    meta_path = zip_path.with_name("layer.json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    version = meta.get("model_version", "unknown")
    key = f"{layer}/{version}/{sha}.zip"
    clients.s3.upload_file(str(zip_path), bucket, key)
    response = clients.lambda_.publish_layer_version(
        LayerName=layer,
        Description=f"model {version}, zip sha256 {sha}"[:256],
        Content={"S3Bucket": bucket, "S3Key": key},
        CompatibleRuntimes=[RUNTIME],
    )
    arn = str(response["LayerVersionArn"])
    log.info("published %s (model %s)", arn, version)
    if function:
        point_function(clients, function, arn)
    return arn


def versions(clients: Clients, layer: str = LAYER_NAME) -> list[dict[str, Any]]:
    pages = clients.lambda_.list_layer_versions(LayerName=layer)["LayerVersions"]
    return sorted(pages, key=lambda v: v["Version"])


def rollback(clients: Clients, function: str, to_version: int | None = None, layer: str = LAYER_NAME) -> str:
    """Point `function` at an earlier model layer version: `to_version`, or the one before the current."""
    known = {v["Version"]: v["LayerVersionArn"] for v in versions(clients, layer)}
    config = clients.lambda_.get_function_configuration(FunctionName=function)
    attached = [
        int(layer_arn["Arn"].rsplit(":", 1)[1])
        for layer_arn in config.get("Layers", [])
        if _unversioned(layer_arn["Arn"]).endswith(f":layer:{layer}")
    ]
    if to_version is None:
        if not attached:
            raise PublishError(f"function {function} has no version of layer {layer} attached")
        earlier = [v for v in known if v < attached[0]]
        if not earlier:
            raise PublishError(f"no version of {layer} is older than the attached {attached[0]}")
        to_version = max(earlier)
    if to_version not in known:
        raise PublishError(f"layer {layer} has no version {to_version}; versions: {sorted(known)}")
    point_function(clients, function, known[to_version])
    return str(known[to_version])


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer-name", default=LAYER_NAME)
    parser.add_argument("--region", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="upload, publish and attach a model layer zip")
    p.add_argument("--zip", type=Path, required=True)
    p.add_argument("--bucket", required=True)
    p.add_argument("--function", default=None, help="function to point at the new version")
    r = sub.add_parser("rollback", help="point the function at an earlier model layer version")
    r.add_argument("--function", required=True)
    r.add_argument("--to-version", type=int, default=None)
    sub.add_parser("versions", help="list the model layer's versions")
    args = parser.parse_args(argv)
    clients = Clients.default(args.region)
    try:
        if args.command == "publish":
            result: Any = publish(clients, args.zip, args.bucket, args.function, args.layer_name)
        elif args.command == "rollback":
            result = rollback(clients, args.function, args.to_version, args.layer_name)
        else:
            result = [{"version": v["Version"], "description": v.get("Description", "")} for v in versions(clients)]
    except PublishError as err:
        log.error("%s", err)
        return 2
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
