"""Check a deployed API over HTTPS, as its users call it: one line per check, non-zero exit on any failure.

    python -m infra.smoke URL [--sigv4] [--region REGION]
    python -m infra.smoke --stack STACK [--sigv4]            (the URL from the stack's ApiUrl output)

URL is the API's base URL, stage included (the ApiUrl output). With --sigv4 every request is signed
for execute-api with the caller's AWS credentials (for AuthMode=AWS_IAM). 429 and 503 answers are
retried with exponential backoff.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infra import golden
from model import manifest
from model.schema import FEATURE_NAMES

RETRIED = (429, 503)
ATTEMPTS = 5
MAX_ERROR_BYTES = 16 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Signer = Callable[[str, str, bytes, dict[str, str]], dict[str, str]]


def sigv4_signer(region: str) -> Signer:
    """Headers that sign a request for execute-api with the caller's credentials (botocore's SigV4)."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise SystemExit("--sigv4: no AWS credentials found (environment, profile or role)")

    def sign(method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return dict(request.headers.items())

    return sign


class Client:
    """HTTP calls to the API, signed if asked, retried on 429 and 503."""

    def __init__(
        self,
        base: str,
        sign: Signer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        opener: Callable[..., Any] = urllib.request.urlopen,
    ) -> None:
        self.base, self.sign, self.sleep, self.opener = base.rstrip("/"), sign, sleep, opener

    def call(self, method: str, path: str, body: Any = None) -> Reply:
        url = self.base + path
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if body is not None else {}
        for attempt in range(ATTEMPTS):
            signed = self.sign(method, url, data, headers) if self.sign else headers
            request = urllib.request.Request(url, data=data or None, method=method, headers=signed)
            try:
                with self.opener(request, timeout=30) as response:
                    reply = Reply(response.status, dict(response.headers.items()), response.read())
            except urllib.error.HTTPError as err:
                reply = Reply(err.code, dict(err.headers.items()), err.read())
            if reply.status not in RETRIED or attempt == ATTEMPTS - 1:
                return reply
            self.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise AssertionError(problem)


def check_health(client: Client, state: dict[str, Any]) -> str:
    reply = client.call("GET", "/health")
    _expect(reply.status == 200, f"status {reply.status}")
    state["version"] = reply.json()["model_version"]
    return f"model {state['version']}"


def check_card(client: Client, state: dict[str, Any]) -> str:
    reply = client.call("GET", "/model")
    _expect(reply.status == 200, f"status {reply.status}")
    card = reply.json()
    _expect(len(card["features"]) == 30 and card["model_version"] == state["version"], "features or version")
    state["card"], state["release"] = card, manifest.release(card)
    return f"{card['model']['title']}, {len(state['release'].golden)} golden examples"


def check_golden(client: Client, state: dict[str, Any]) -> str:
    release: manifest.Release = state["release"]

    def ask(features: Mapping[str, float], operating_point: str) -> tuple[int, Any]:
        body = {"features": dict(features), "operating_point": operating_point, "explain": True}
        reply = client.call("POST", "/predict", body)
        return reply.status, reply.json() if reply.status == 200 else {"body": reply.body[:200]}

    problems = golden.check(release, ask)
    _expect(not problems, "; ".join(problems))
    return ", ".join(f"{g.example} {g.label}" for g in release.golden)


def check_batch(client: Client, state: dict[str, Any]) -> str:
    rows = [dict(e.features) for e in state["release"].examples.values()]
    reply = client.call("POST", "/predict/batch", {"instances": rows})
    _expect(reply.status == 200 and reply.json()["count"] == len(rows), f"status {reply.status}")
    return f"{len(rows)} records"


def check_explained(client: Client, state: dict[str, Any]) -> str:
    features = dict(state["release"].examples["malignant"].features)
    got = client.call("POST", "/predict", {"features": features, "explain": True}).json()
    _expect(golden.adds_up(got), "contributions do not add up")
    return f"base + contributions = log-odds {got['log_odds']:.6f}"


def check_bad_request(client: Client, state: dict[str, Any]) -> str:
    reply = client.call("POST", "/predict", {"features": {"radius_mean": -1}})
    _expect(reply.status == 422, f"status {reply.status}")
    _expect(len(reply.body) <= MAX_ERROR_BYTES, f"{len(reply.body)} bytes")
    _expect(bool(reply.json()["error"]["violations"]), "no violations named")
    return f"422 in {len(reply.body)} bytes"


def check_page(client: Client, state: dict[str, Any]) -> str:
    reply = client.call("GET", "/")
    _expect(reply.status == 200 and b"not a diagnostic tool" in reply.body, f"status {reply.status}")
    return "disclaimer shown"


def check_docs(client: Client, state: dict[str, Any]) -> str:
    reply = client.call("GET", "/docs")
    _expect(reply.status == 200, f"status {reply.status}")
    assets = re.findall(rb'(?:src|href)="[^"]*?(/docs/assets/[^"]+)"', reply.body)
    _expect(bool(assets), "no assets referenced")
    for asset in assets:
        _expect(client.call("GET", asset.decode()).status == 200, f"{asset.decode()} not served")
    return f"{len(assets)} assets from the API itself"


def check_v2(client: Client, state: dict[str, Any]) -> str:
    metadata = client.call("GET", "/v2/models/wdbc")
    if metadata.status == 404 and b"unknown model" in metadata.body:
        name = re.search(rb"serves model '([^']+)'", metadata.body)
        _expect(name is not None, "no model named")
        model = name.group(1).decode() if name else ""
        metadata = client.call("GET", f"/v2/models/{model}")
    _expect(metadata.status == 200, f"metadata status {metadata.status}")
    name = metadata.json()["name"]
    row = [state["release"].examples["malignant"].features[name] for name in FEATURE_NAMES]
    body = {"inputs": [{"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row}]}
    reply = client.call("POST", f"/v2/models/{name}/infer", body)
    _expect(reply.status == 200, f"infer status {reply.status}")
    predict = next(o for o in reply.json()["outputs"] if o["name"] == "predict")
    return f"model {name}, predict {predict['data']}"


CHECKS: tuple[tuple[str, Callable[[Client, dict[str, Any]], str]], ...] = (
    ("health", check_health),
    ("model card", check_card),
    ("golden examples", check_golden),
    ("batch", check_batch),
    ("explained prediction", check_explained),
    ("bad request", check_bad_request),
    ("page", check_page),
    ("docs", check_docs),
    ("open inference protocol", check_v2),
)


def run(client: Client, write: Callable[[str], Any] = sys.stdout.write) -> int:
    """Every check in order, one line each; the number that failed."""
    state: dict[str, Any] = {}
    failed = 0
    for name, check in CHECKS:
        try:
            detail = check(client, state)
        except Exception as err:  # a failed check is reported and counted, the others still run
            failed += 1
            write(f"FAIL  {name}: {type(err).__name__}: {str(err)[:200]}\n")
        else:
            write(f"ok    {name}: {detail}\n")
    write(f"{len(CHECKS) - failed} of {len(CHECKS)} checks passed\n")
    return failed


def region_of(url: str) -> str | None:
    found = re.search(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", url)
    return found.group(1) if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", help="the API's base URL, stage included (ApiUrl)")
    parser.add_argument("--stack", help="read the URL from this stack's ApiUrl output instead")
    parser.add_argument("--sigv4", action="store_true", help="sign every request (AuthMode=AWS_IAM)")
    parser.add_argument("--region", help="for signing and for --stack (default: from the URL)")
    args = parser.parse_args(argv)
    url = args.url
    if args.stack:
        import boto3

        [stack] = boto3.client("cloudformation", region_name=args.region).describe_stacks(StackName=args.stack)[
            "Stacks"
        ]
        url = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "ApiUrl")
    if not url:
        parser.error("give the API's URL or --stack")
    region = args.region or region_of(url)
    if args.sigv4 and not region:
        parser.error("--sigv4 needs --region when the URL does not name one")
    client = Client(url, sigv4_signer(region) if args.sigv4 and region else None)
    return 1 if run(client) else 0


if __name__ == "__main__":
    sys.exit(main())
