"""Translate template.yaml to plain CloudFormation with the SAM translator, offline.

Runs in the SAM CLI's environment (`.venv-sam/bin/python -m infra.translate [Name=Value ...]`):
aws-sam-translator and samcli's YAML loader live there. Prints the CloudFormation JSON.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

from infra.paths import ROOT


class NoManagedPolicies:
    """The translator asks IAM for AWS-managed policy ARNs only when a template names them by name."""

    def load(self) -> dict[str, str]:
        return {}


def translate(overrides: dict[str, str]) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator derives the partition from it
    template = yaml_parse((ROOT / "template.yaml").read_text())
    # As `sam package` would: local code locations become S3 objects.
    for name, resource in template["Resources"].items():
        for key in ("CodeUri", "ContentUri"):
            if isinstance(resource.get("Properties", {}).get(key), str):
                resource["Properties"][key] = f"s3://artifacts-bucket/{name}.zip"
    parameters = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    parameters.update(overrides)
    result: dict[str, Any] = transform(template, parameters, NoManagedPolicies())
    return result


def main(argv: list[str]) -> int:
    overrides = dict(arg.split("=", 1) for arg in argv)
    sys.stdout.write(json.dumps(translate(overrides), indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
