"""Run the function under the real Lambda Runtime Interface Emulator, without a container.

The emulator binary ships inside the aws-sam-cli wheel; `awslambdaric` is the runtime client that
Lambda's managed Python runtime uses. Layers are laid out as Lambda does: their `python/` folders on
PYTHONPATH stand in for /opt/python, and MODEL_DIR points at the model layer's folder.

    python -m local.emulator EVENT.json [--model DIR] [--code DIR] [--layer DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.paths import ROOT
from local.ports import free_port, stop

HANDLER = "handler.lambda_function.handler"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


class EmulatorError(RuntimeError):
    """The emulator could not be found or started."""


def find_rie() -> Path:
    """The emulator binary: $LAMBDA_RIE, or the one inside an installed aws-sam-cli."""
    if os.environ.get("LAMBDA_RIE"):
        return Path(os.environ["LAMBDA_RIE"])
    machine = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"
    candidates = sorted(ROOT.glob(f".venv-sam/lib/python*/site-packages/samcli/local/rapid/aws-lambda-rie-{machine}"))
    if not candidates:
        raise EmulatorError(
            "aws-lambda-rie not found: run `make sam-venv` (it installs aws-sam-cli, which ships the emulator) "
            "or set LAMBDA_RIE to the binary"
        )
    return candidates[-1]


@dataclass
class Invocation:
    status: int  # the emulator's HTTP status: 200, or 502 when the function failed to initialise
    payload: Any
    seconds: float
    init_duration_ms: float | None


@dataclass
class Emulator:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def invoke(self, event: Any, timeout: float = 60.0) -> Invocation:
        request = urllib.request.Request(self.url, data=json.dumps(event).encode(), method="POST")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        seconds = time.perf_counter() - started
        try:
            payload = json.loads(raw or b"null")
        except json.JSONDecodeError:
            payload = raw.decode(errors="replace")
        return Invocation(status, payload, seconds, self.init_duration_ms())

    def runtime_stats(self) -> dict[str, float]:
        """CPU seconds and peak RSS (MB) of the runtime process the emulator started, so far."""
        # The emulator is a Go program: any of its threads may be the runtime's parent.
        children = [
            pid
            for task in Path(f"/proc/{self.process.pid}/task").iterdir()
            for pid in (task / "children").read_text().split()
        ]
        if not children:
            return {}
        pid = children[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        status = Path(f"/proc/{pid}/status").read_text()
        peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        return {"cpu_s": cpu, "peak_rss_mb": peak_kb / 1024}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def init_duration_ms(self) -> float | None:
        """The emulator's own init time, from its 'INIT REPORT(durationMs: ...)' line."""
        for line in self.log().splitlines():
            if "INIT REPORT(durationMs:" in line:
                return float(line.split("durationMs:")[1].split(")")[0])
        return None


def _environment(path: Sequence[Path], model_dir: Path | None, extra: Mapping[str, str]) -> dict[str, str]:
    """What Lambda sets for a python3.13 function, with `path` standing in for /var/task and /opt/python."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(str(p) for p in path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MODEL_DIR": str(model_dir) if model_dir else "/opt/model",
        "AWS_LAMBDA_FUNCTION_NAME": "wdbc-classifier",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }


def _wait_until_listening(emulator: Emulator, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if emulator.process.poll() is not None or time.monotonic() > deadline:
                raise EmulatorError(f"the emulator did not start:\n{emulator.log()}") from None
            time.sleep(0.02)


@contextmanager
def running(
    python: str = sys.executable,
    code: Path = ROOT,
    layers: Sequence[Path] = (),
    model_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    startup_timeout: float = 30.0,
    handler: str = HANDLER,
) -> Iterator[Emulator]:
    """Start the emulator with the handler; stop it on exit. Yields once it accepts connections."""
    rie = find_rie()
    # The runtime's working directory is the code folder: every path it is given must be absolute.
    code, layers = code.resolve(), [layer.resolve() for layer in layers]
    model_dir = model_dir.resolve() if model_dir else None
    api_port, rie_port = free_port(), free_port()
    environment = _environment([code, *layers], model_dir, env or {})
    log_path = log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"rie-{rie_port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(rie),
                "--runtime-interface-emulator-address",
                f"127.0.0.1:{rie_port}",
                "--runtime-api-address",
                f"127.0.0.1:{api_port}",
                python,
                "-m",
                "awslambdaric",
                handler,
            ],
            cwd=str(code),
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    emulator = Emulator(process, f"http://127.0.0.1:{rie_port}{INVOKE_PATH}", log_path)
    try:
        _wait_until_listening(emulator, rie_port, startup_timeout)
        yield emulator
    finally:
        stop(process, 5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event", type=Path, help="API Gateway event JSON, e.g. events/predict-v2.json")
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model", help="model directory")
    parser.add_argument("--code", type=Path, default=ROOT, help="function code (handler/ and model/)")
    parser.add_argument("--layer", type=Path, action="append", default=[], help="a layer's python/ folder")
    args = parser.parse_args(argv)
    event = json.loads(args.event.read_text())
    try:
        with running(code=args.code, layers=args.layer, model_dir=args.model) as emulator:
            result = emulator.invoke(event)
            sys.stderr.write(emulator.log())
    except (EmulatorError, urllib.error.URLError) as err:
        sys.stderr.write(f"{err}\n")
        return 2
    sys.stdout.write(json.dumps(result.payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
