"""`make deploy`: `sam deploy` with the model version recorded, guided the first time, remembered after.

    python -m infra.deploy --sam .venv-sam/bin/sam --artifact artifacts/model [--config samconfig.toml]

The model version goes to the template's ModelVersion parameter, so every published function version
is described "model <version>". The other parameters are the ones `sam deploy --guided` saved in
samconfig.toml: passing ModelVersion alone on the command line would reset them to their defaults.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

from infra.paths import ROOT
from model import manifest as manifest_io


def saved_overrides(config: Path) -> str | None:
    """The parameter overrides a guided deploy saved, or None before the first one."""
    if not config.exists():
        return None
    document = tomllib.loads(config.read_text())
    saved = document.get("default", {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides")
    if isinstance(saved, list):
        return " ".join(str(item) for item in saved)
    return str(saved) if saved is not None else None


def command(sam: str, artifact: Path, config: Path) -> list[str]:
    """The `sam deploy` command line: guided when nothing is saved yet, the model version always."""
    version = manifest_io.release(json.loads((artifact / manifest_io.FILE).read_text())).model_version
    saved = saved_overrides(config)
    pairs = [p for p in shlex.split(saved or "") if not p.startswith("ModelVersion=")]
    overrides = " ".join([*(shlex.quote(p) for p in pairs), f"ModelVersion={version}"])
    return [sam, "deploy", *(["--guided"] if saved is None else []), "--parameter-overrides", overrides]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sam", required=True)
    parser.add_argument("--artifact", type=Path, default=ROOT / "artifacts" / "model")
    parser.add_argument("--config", type=Path, default=ROOT / "samconfig.toml")
    args = parser.parse_args(argv)
    return subprocess.run(command(args.sam, args.artifact, args.config), cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
