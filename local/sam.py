"""The SAM CLI's own local commands on a build of the stack: `sam local invoke`, `start-api`, `start-lambda`.

Each runs the function in a container of the python3.13 base image (`local.base_image`: the real image
or the stand-in), with `--skip-pull-image` so that the image on this machine is the one used.

    python -m local.sam invoke EVENT.json [--model DIR] [--arch x86_64|arm64]
        sam local invoke when a Docker daemon runs or can be started; the emulator runner otherwise
    python -m local.sam start-api [--model DIR] [--port 3000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from infra.paths import ROOT
from local import base_image, docker, emulator
from local.ports import free_port, stop

LOG = logging.getLogger("local.sam")
SAM = ROOT / ".venv-sam" / "bin" / "sam"
FUNCTION = "ClassifierFunction"
START_TIMEOUT_S = 180.0


class SamLocalError(RuntimeError):
    """A SAM CLI command failed or its server did not come up."""


def build(artifact: Path, build_dir: Path, arch: str = "x86_64") -> Path:
    """`sam build` of the stack with `artifact` as the model layer; the built template's path."""
    env = {**os.environ, "ARTIFACT": str(artifact), "ARCH": arch}
    command = [str(SAM), "build", "--build-in-source", "--build-dir", str(build_dir)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise SamLocalError(f"sam build failed:\n{(result.stdout + result.stderr)[-4000:]}")
    return build_dir / "template.yaml"


# What `sam local start-api` mounts, and the variables the functions declare, as the SAM CLI's own
# providers read them from a template (run in SAM's environment).
_READ_TEMPLATE = """
import json, sys
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
stacks, _ = SamLocalStackProvider.get_stacks(sys.argv[1])
routes = sorted([r.path, sorted(r.methods), r.function_name] for r in ApiProvider(stacks).routes)
functions = SamFunctionProvider(stacks).get_all()
variables = sorted({k for f in functions for k in ((f.environment or {}).get("Variables") or {})})
print(json.dumps({"routes": routes, "variables": variables}))
"""


@cache
def _read_template(template: Path) -> dict[str, Any]:
    command = [str(SAM.with_name("python")), "-c", _READ_TEMPLATE, str(template)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise SamLocalError(f"SAM's template providers failed:\n{result.stderr[-3000:]}")
    read: dict[str, Any] = json.loads(result.stdout)
    return read


def routes(template: Path) -> list[tuple[str, list[str], str | None]]:
    """(path, methods, function) of every route `sam local start-api` mounts from `template`."""
    return [(path, methods, function) for path, methods, function in _read_template(template)["routes"]]


def _environment(template: Path) -> dict[str, str]:
    """This process's environment without the variables the template declares.

    SAM local gives a declared variable the value of the shell's variable of that name, when there is
    one: a MODEL_DIR set here would otherwise replace the template's /opt/model inside the container.
    """
    declared = set(_read_template(template)["variables"])
    return {key: value for key, value in os.environ.items() if key not in declared}


# Under qemu-user an arm64 import takes tens of seconds: the longest timeout the template allows.
EMULATED_TIMEOUT_S = 29


def _common(template: Path, arch: str) -> list[str]:
    overrides = [f"Architecture={arch}"]
    if arch != ("arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"):
        overrides.append(f"Timeout={EMULATED_TIMEOUT_S}")
    return ["-t", str(template), "--skip-pull-image", "--parameter-overrides", " ".join(overrides)]


@dataclass(frozen=True)
class Invoked:
    payload: Any
    log: str
    seconds: float


def invoke(template: Path, event: Path, arch: str = "x86_64", timeout: float = 600) -> Invoked:
    """`sam local invoke` of the function with one event file: its answer and the container's log."""
    command = [str(SAM), "local", "invoke", FUNCTION, "-e", str(event), *_common(template, arch)]
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=ROOT, env=_environment(template), capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0 or not result.stdout.strip():
        raise SamLocalError(f"sam local invoke failed:\n{(result.stdout + result.stderr)[-4000:]}")
    return Invoked(json.loads(result.stdout.strip().splitlines()[-1]), result.stderr, seconds)


@contextmanager
def serving(template: Path, command: str, log_path: Path, arch: str = "x86_64", port: int = 0) -> Iterator[str]:
    """`sam local start-api` or `start-lambda` on loopback with warm containers; its base URL."""
    port = port or free_port()
    argv = [str(SAM), "local", command, *_common(template, arch), "--port", str(port), "--warm-containers", "EAGER"]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=_environment(template), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_answering(url, process, log_path)
        yield url
    finally:
        stop(process, 60)  # on SIGTERM SAM removes its warm containers on the way out


def lambda_client(url: str, timeout: float = 120) -> Any:
    """A boto3 Lambda client of `sam local start-lambda` at `url` (credentials are not checked there)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(read_timeout=timeout, retries={"max_attempts": 0}),
    )


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer: the server is up
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = log_path.read_text(errors="replace")[-4000:]
                raise SamLocalError(f"sam local did not start at {url}:\n{log}") from None
            time.sleep(0.5)


def _invoke_command(args: argparse.Namespace) -> int:
    try:
        with docker.daemon():
            name, stand_in = base_image.ensure(args.arch)
            LOG.info("running `sam local invoke` in %s (%s)", name, "stand-in" if stand_in else "the real image")
            template = build(args.model, ROOT / ".aws-sam" / "build", args.arch)
            invoked = invoke(template, args.event, args.arch)
    except docker.DockerError as err:
        LOG.info("%s; running the emulator runner instead of sam local invoke", err)
        return emulator.main([str(args.event), "--model", str(args.model)])
    sys.stderr.write(invoked.log)
    sys.stdout.write(json.dumps(invoked.payload, indent=2) + "\n")
    return 0


def _start_api_command(args: argparse.Namespace) -> int:
    with docker.daemon():
        name, stand_in = base_image.ensure(args.arch)
        LOG.info("serving with `sam local start-api` in %s (%s)", name, "stand-in" if stand_in else "the real image")
        template = build(args.model, ROOT / ".aws-sam" / "build", args.arch)
        argv = [str(SAM), "local", "start-api", *_common(template, args.arch), "--port", str(args.port)]
        command = [*argv, "--warm-containers", "EAGER"]
        return subprocess.run(command, cwd=ROOT, env=_environment(template), check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("invoke", "start-api"):
        sub = commands.add_parser(name)
        sub.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model", help="model directory")
        sub.add_argument("--arch", choices=sorted(base_image.ROOTS), default="x86_64")
        if name == "invoke":
            sub.add_argument("event", type=Path, help="API Gateway event JSON, e.g. events/predict-v2.json")
        else:
            sub.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return _invoke_command(args) if args.command == "invoke" else _start_api_command(args)


if __name__ == "__main__":
    sys.exit(main())
