"""`make delete`: the stack with `sam delete`, then, after asking, the model layer versions it retained.

    python -m infra.teardown --stack STACK --sam .venv-sam/bin/sam [--yes]

The model layer is kept when the stack goes (`RetentionPolicy: Retain`), so that a rollback target
never disappears under a live alias. Once the stack is gone nothing uses them: this lists each retained
version with the model it holds, and deletes them on confirmation. A kept layer version costs only its
storage, inside Lambda's 75 GB code storage quota (no charge), so keeping them is safe, and deleting
them is tidy.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import boto3

from infra.paths import ROOT


def layer_name(cloudformation: Any, stack: str) -> str | None:
    """The model layer's name, from the stack's ModelLayerArn output (None if the stack is gone already)."""
    try:
        [found] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except Exception:  # no such stack: nothing to read, nothing to delete there
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    arn = outputs.get("ModelLayerArn")
    return arn.rsplit(":", 2)[1] if arn else None


def retained(lambda_client: Any, name: str) -> list[dict[str, Any]]:
    """Every version of the layer, oldest first, read page by page."""
    found = []
    for page in lambda_client.get_paginator("list_layer_versions").paginate(LayerName=name):
        found += page["LayerVersions"]
    return sorted(found, key=lambda v: v["Version"])


def delete_layers(lambda_client: Any, name: str, ask: Callable[[str], str], write: Callable[[str], Any]) -> list[int]:
    """List the retained versions with their models; delete them if the answer is yes."""
    versions = retained(lambda_client, name)
    if not versions:
        write(f"no retained version of layer {name}\n")
        return []
    for v in versions:
        write(f"  {name}:{v['Version']}  {v.get('Description', '')}  created {v.get('CreatedDate', '')}\n")
    if ask(f"delete these {len(versions)} model layer versions? [y/N] ").strip().lower() not in ("y", "yes"):
        write("kept\n")
        return []
    for v in versions:
        lambda_client.delete_layer_version(LayerName=name, VersionNumber=v["Version"])
    write(f"deleted {len(versions)} versions of {name}\n")
    return [int(v["Version"]) for v in versions]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--sam", required=True, help="the sam command")
    parser.add_argument("--region", default=None)
    parser.add_argument("--yes", action="store_true", help="answer yes to every question")
    args = parser.parse_args(argv)
    name = layer_name(boto3.client("cloudformation", region_name=args.region), args.stack) or f"{args.stack}-model"
    command = [args.sam, "delete", "--stack-name", args.stack, *(["--no-prompts"] if args.yes else [])]
    if args.region:
        command += ["--region", args.region]
    deleted = subprocess.run(command, cwd=ROOT, check=False)
    if deleted.returncode != 0:
        return deleted.returncode
    ask = (lambda question: "yes") if args.yes else input
    delete_layers(boto3.client("lambda", region_name=args.region), name, ask, sys.stdout.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
