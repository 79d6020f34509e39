"""Releases after `sam deploy`: which function version serves which model, instant rollback, layer checks.

    python -m infra.release versions --stack STACK
    python -m infra.release rollback --stack STACK [--to VERSION]
    python -m infra.release verify-layer --stack STACK [--artifact artifacts/model] [--sbom build/sbom.cdx.json]

A model release is `sam build && sam deploy`: the new model layer version makes a new function
version, described "model <version>", which CodeDeploy shifts the `live` alias to by canary after
the pre-traffic check. `rollback` moves `live` back to an earlier published version at once; its
layers are immutable, so the model it serves is exactly the one it served before. Names come from the
stack's outputs; every listing is read page by page.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import logging
import sys
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from infra import sbom
from infra.model_layer import ALLOWED, layer_problems
from model import manifest as manifest_io

log = logging.getLogger("infra.release")


class ReleaseError(RuntimeError):
    """The release cannot be listed, rolled back or verified as asked."""


@dataclass(frozen=True)
class Stack:
    """The names a release needs, from the stack's outputs."""

    function: str
    alias: str
    model_layer_arn: str

    @classmethod
    def read(cls, cloudformation: Any, name: str) -> Stack:
        try:
            [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except Exception as err:
            raise ReleaseError(f"stack {name!r} cannot be read: {err}") from err
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        missing = [k for k in ("FunctionName", "LiveAlias", "ModelLayerArn") if k not in outputs]
        if missing:
            raise ReleaseError(f"stack {name!r} lacks the outputs {missing}; deploy this project's template.yaml")
        return cls(outputs["FunctionName"], outputs["LiveAlias"], outputs["ModelLayerArn"])


def published_versions(lambda_client: Any, function: str) -> list[dict[str, Any]]:
    """Every published version of `function` ($LATEST aside), oldest first."""
    found = []
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(FunctionName=function):
        found += [v for v in page["Versions"] if v["Version"] != "$LATEST"]
    return sorted(found, key=lambda v: int(v["Version"]))


def live_version(lambda_client: Any, stack: Stack) -> str:
    return str(lambda_client.get_alias(FunctionName=stack.function, Name=stack.alias)["FunctionVersion"])


def versions(lambda_client: Any, stack: Stack) -> list[dict[str, Any]]:
    """Each published version with the model it serves (from its description) and whether it is live."""
    live = live_version(lambda_client, stack)
    return [
        {
            "version": v["Version"],
            "model": v.get("Description", "").removeprefix("model ") or "unknown",
            "layers": [layer["Arn"] for layer in v.get("Layers", [])],
            "live": v["Version"] == live,
        }
        for v in published_versions(lambda_client, stack.function)
    ]


def rollback(lambda_client: Any, stack: Stack, to: str | None = None) -> dict[str, Any]:
    """Point the live alias at `to`, or at the version published before the live one; say what is now live."""
    listed = versions(lambda_client, stack)
    by_version = {v["version"]: v for v in listed}
    live = next((v["version"] for v in listed if v["live"]), None)
    if to is None:
        earlier = [v["version"] for v in listed if live is not None and int(v["version"]) < int(live)]
        if not earlier:
            raise ReleaseError(f"no published version is older than the live one ({live}); name one with --to")
        to = earlier[-1]
    if to not in by_version:
        raise ReleaseError(
            f"function {stack.function} has no published version {to}; versions: {sorted(by_version, key=int)}"
        )
    # Moving the alias is what CodeDeploy itself does at the end of a release; no routing config is left behind.
    lambda_client.update_alias(FunctionName=stack.function, Name=stack.alias, FunctionVersion=to, RoutingConfig={})
    log.info("%s:%s now points at version %s (model %s)", stack.function, stack.alias, to, by_version[to]["model"])
    return {"live": to, "was": live, "model": by_version[to]["model"]}


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        data: bytes = response.read()
    return data


def verify_layer(
    lambda_client: Any,
    stack: Stack,
    artifact: Path,
    fetch: Callable[[str], bytes] = download,
    described: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The deployed model layer holds only the model, arrived whole, and is the local artifact's model;
    with `described` (file name -> sha256, from the build's SBOM), it is exactly what the SBOM describes."""
    layer, number = stack.model_layer_arn.rsplit(":", 1)
    content = lambda_client.get_layer_version(LayerName=layer, VersionNumber=int(number))["Content"]
    data = fetch(content["Location"])
    code_sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    if code_sha256 != content["CodeSha256"]:
        raise ReleaseError(
            f"the layer downloaded has CodeSha256 {code_sha256}, Lambda reports {content['CodeSha256']}: "
            "the download is damaged"
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        extra = layer_problems(names)
        if extra:
            raise ReleaseError(f"the deployed layer holds {extra[:5]}; a model layer may hold only {sorted(ALLOWED)}")
        for name in (manifest_io.FILE, manifest_io.ARRAYS_FILE):
            deployed = hashlib.sha256(archive.read(f"model/{name}")).hexdigest()
            local = hashlib.sha256((artifact / name).read_bytes()).hexdigest()
            if deployed != local:
                raise ReleaseError(f"the deployed layer's {name} differs from {artifact / name}: another model is live")
        version = manifest_io.release(json.loads(archive.read(f"model/{manifest_io.FILE}"))).model_version
        if described is not None:
            files = [n for n in names if not n.endswith("/")]
            layer_files = {n.removeprefix("model/"): hashlib.sha256(archive.read(n)).hexdigest() for n in files}
            if layer_files != dict(described):
                differ = sorted(set(layer_files.items()) ^ set(described.items()))
                raise ReleaseError(f"the deployed model layer is not the one the SBOM describes: {differ[:4]}")
    return {"layer": stack.model_layer_arn, "code_sha256": code_sha256, "model_version": version}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("versions", "list published versions, their models and which one is live"),
        ("rollback", "point the live alias at an earlier published version"),
        ("verify-layer", "check the deployed model layer against the local artifact"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--stack", required=True, help="the stack sam deploy created")
        if name == "rollback":
            command.add_argument("--to", default=None, help="a published version (default: the one before live)")
        if name == "verify-layer":
            command.add_argument("--artifact", type=Path, default=Path("artifacts/model"), help="the local artifact")
            command.add_argument(
                "--sbom", type=Path, default=None, help="also check the layer against this SBOM (build/sbom.cdx.json)"
            )
    args = parser.parse_args(argv)
    lambda_client = boto3.client("lambda", region_name=args.region)
    try:
        stack = Stack.read(boto3.client("cloudformation", region_name=args.region), args.stack)
        if args.command == "versions":
            result: Any = versions(lambda_client, stack)
        elif args.command == "rollback":
            result = rollback(lambda_client, stack, args.to)
        else:
            described = sbom.model_hashes(json.loads(args.sbom.read_text())) if args.sbom else None
            result = verify_layer(lambda_client, stack, args.artifact, described=described)
    except ReleaseError as err:
        log.error("%s", err)
        return 2
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
