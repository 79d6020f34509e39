"""A Docker daemon for `sam local`: the one running, or one started here (as root) and stopped after.

    python -m local.docker COMMAND...   runs COMMAND with a daemon there, then stops what it started

Debian's docker.io provides dockerd; overlay2 storage. arm64 images run under qemu-user through
binfmt_misc, registered here when Debian's qemu-user-static is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from infra.paths import ROOT
from local.ports import stop

LOG = logging.getLogger("local.docker")

# Set for the command run under a daemon: the tests that need Docker fail, not skip, without one.
REQUIRED_VARIABLE = "LOCAL_DOCKER"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
START_TIMEOUT_S = 60.0


class DockerError(RuntimeError):
    """No daemon, and none could be started."""


def _docker(*args: str, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def available() -> bool:
    """A daemon answers."""
    if shutil.which("docker") is None:
        return False
    try:
        return _docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@contextmanager
def daemon(log_path: Path | None = None) -> Iterator[bool]:
    """A daemon for the block; True when this started it (and stops it after)."""
    if available():
        yield False
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        raise DockerError("no Docker daemon runs and none can be started: install docker.io and run as root")
    log_path = log_path or ROOT / "build" / "dockerd.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen([dockerd, "--storage-driver=overlay2"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not available():
            if process.poll() is not None or time.monotonic() > deadline:
                raise DockerError(f"dockerd did not start within {START_TIMEOUT_S:.0f} s; see {log_path}")
            time.sleep(0.5)
        LOG.info("started dockerd (pid %d)", process.pid)
        yield True
    finally:
        stop(process, 30)


def prune_dangling_images() -> None:
    """Remove untagged images: `sam local` rebuilds a function's image on every run whose layers are in the
    template, leaving the previous build untagged (about 100 MB each)."""
    _docker("image", "prune", "--force", check=False)


def arm64_emulation() -> bool:
    """qemu-user registered for arm64 binaries (registering it when qemu-user-static is installed)."""
    if not (BINFMT / "register").exists() and BINFMT.exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=False)
    if not (BINFMT / "qemu-aarch64").exists() and shutil.which("update-binfmts"):
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], check=False, capture_output=True)
    entry = BINFMT / "qemu-aarch64"
    return entry.exists() and entry.read_text().startswith("enabled")


def image_environment(name: str) -> list[str]:
    """An image's environment (`KEY=value`); KeyError when the daemon has no such image."""
    found = _docker("image", "inspect", name, check=False)
    if found.returncode != 0:
        raise KeyError(name)
    return list(json.loads(found.stdout)[0]["Config"].get("Env") or [])


def pull(name: str, arch: str) -> bool:
    """Whether the image could be pulled (False where its registry is unreachable)."""
    platform = "linux/amd64" if arch == "x86_64" else "linux/arm64"
    try:
        return _docker("pull", "--platform", platform, name, check=False, timeout=120).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def import_root(root: Path, name: str, arch: str, environment: Sequence[str], workdir: str) -> None:
    """A folder loaded as a one-layer image for `arch`, with its environment and working directory.

    Written in `docker save`'s format and loaded: unlike `docker import`, it states the architecture.
    """
    layer = root.with_name("layer.tar")
    with tarfile.open(layer, "w") as tar:
        tar.add(root, arcname=".")
    digest = hashlib.sha256()
    with layer.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    config = {
        "architecture": "amd64" if arch == "x86_64" else "arm64",
        "os": "linux",
        "config": {"Env": list(environment), "WorkingDir": workdir},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{digest.hexdigest()}"]},
    }
    config_bytes = json.dumps(config).encode()
    config_name = f"{hashlib.sha256(config_bytes).hexdigest()}.json"
    manifest = [{"Config": config_name, "RepoTags": [name], "Layers": ["layer/layer.tar"]}]
    archive = root.with_name("image.tar")
    with tarfile.open(archive, "w") as tar:
        tar.add(layer, arcname="layer/layer.tar")
        for member, data in ((config_name, config_bytes), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    layer.unlink()
    _docker("image", "load", "--input", str(archive))
    archive.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.docker",
        description="Run COMMAND with a Docker daemon: the one running, or one started here and stopped after.",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    command = parser.parse_args(argv).command
    if not command:
        parser.error("a COMMAND to run is needed")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with daemon() as started:
        LOG.info("Docker daemon: %s", "started for this command" if started else "already running")
        return subprocess.run(command, env={**os.environ, REQUIRED_VARIABLE: "1"}, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
