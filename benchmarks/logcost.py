"""Bytes each log group receives per warm request, and the cost of a million predictions from them.

    python -m benchmarks.logcost --model artifacts/model [--calls 500] [--json FILE]

Measured, not estimated:
- the function's own lines: everything the handler writes (stdout and stderr) over warm single-record
  /predict requests at the defaults, aggregated window lines included;
- Lambda's platform lines: the emulator's START and REPORT for the same warm calls, rendered as the
  JSON log format writes `platform.start` and `platform.report` (AWS Lambda developer guide, "Log
  formats"), counted only where SystemLogLevel lets them through (INFO; the default WARN drops them);
- the API's access log line: the template's own format, rendered with realistic values.
CloudWatch Logs bills ingestion by event size: each event's bytes plus 26 bytes of overhead
(CloudWatch Logs quotas, PutLogEvents). The billed duration is the emulator's median for warm calls.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import yaml

from infra.paths import ROOT
from local.emulator import running
from local.events import LocalContext, event
from model import artifact

EVENT_OVERHEAD = 26  # bytes per log event, CloudWatch Logs quotas
MEMORY_GB = 1.0  # the template's default MemorySize
# us-east-1 list prices: AWS Lambda pricing, Amazon API Gateway pricing, Amazon CloudWatch pricing pages.
PRICES = {
    "lambda_request": (0.20 / 1e6, "AWS Lambda pricing: $0.20 per million requests"),
    "lambda_gb_second_x86": (0.0000166667, "AWS Lambda pricing: $0.0000166667 per GB-second, x86"),
    "http_api_request": (1.00 / 1e6, "Amazon API Gateway pricing: $1.00 per million HTTP API requests"),
    "logs_per_gb": (0.50, "Amazon CloudWatch pricing: $0.50 per GB of standard logs ingested"),
}


def _events_bytes(lines: list[str]) -> int:
    return sum(len(line.encode()) + EVENT_OVERHEAD for line in lines if line.strip())


def function_bytes(model: Path, calls: int) -> dict[str, float]:
    """What the handler writes per warm successful request, in process, at the default settings."""
    os.environ.update(MODEL_DIR=str(model))
    from handler import lambda_function, observability

    handler: Any = lambda_function.handler  # called in process with a local context, as the tests do
    stream: Any = observability.logger.registered_handler  # a logging.StreamHandler

    row = dict(artifact.load(model).manifest.examples["malignant"].features)
    request = event("v2", "POST", "/predict", {"features": row})
    handler(request, LocalContext())  # the cold call writes its own lines; they are not per request
    out, err = io.StringIO(), io.StringIO()
    # Powertools' logger holds the stream it was created with: point it at the capture too.
    stream.setStream(out)
    with redirect_stdout(out), redirect_stderr(err):
        for _ in range(calls):
            handler(request, LocalContext())
    lines = (out.getvalue() + err.getvalue()).splitlines()
    rejected = event("v2", "POST", "/predict", {"features": {"radius_mean": -1}})
    out = io.StringIO()
    stream.setStream(out)
    with redirect_stdout(out), redirect_stderr(out):
        handler(rejected, LocalContext())
    stream.setStream(sys.stdout)
    return {
        "bytes_per_request": _events_bytes(lines) / calls,
        "lines_per_request": len([line for line in lines if line.strip()]) / calls,
        "rejected_request_bytes": _events_bytes(out.getvalue().splitlines()),
    }


def platform_lines(model: Path, calls: int, log_dir: Path) -> dict[str, Any]:
    """Warm durations from the emulator's REPORT lines, and the JSON platform records they become."""
    row = dict(artifact.load(model).manifest.examples["malignant"].features)
    request = event("v2", "POST", "/predict", {"features": row})
    with running(model_dir=model, log_path=log_dir / "logcost-rie.log") as emulator:
        for _ in range(calls + 1):
            emulator.invoke(request)
        log = emulator.log()
    reports = re.findall(
        r"REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms\tMemory Size: (\d+) MB\t"
        r"Max Memory Used: (\d+) MB",
        log,
    )[1:]
    request_id, duration, billed, memory, used = reports[-1]
    time = "2026-11-27T12:00:00.000Z"
    trace = {
        "spanId": "1a2b3c4d5e6f7a8b",
        "type": "X-Amzn-Trace-Id",
        "value": "Root=1-6745f0a0-0123456789abcdef01234567;Parent=1a2b3c4d5e6f7a8b;Sampled=1",
    }
    start = {
        "time": time,
        "type": "platform.start",
        "record": {"requestId": request_id, "version": "7", "tracing": trace},
    }
    report = {
        "time": time,
        "type": "platform.report",
        "record": {
            "requestId": request_id,
            "metrics": {
                "durationMs": float(duration),
                "billedDurationMs": int(billed),
                "memorySizeMB": int(memory),
                "maxMemoryUsedMB": int(used),
            },
            "tracing": trace,
            "status": "success",
        },
    }
    lines = [json.dumps(start, separators=(",", ":")), json.dumps(report, separators=(",", ":"))]
    return {
        "duration_ms_median": statistics.median(float(r[1]) for r in reports),
        "billed_ms_median": statistics.median(float(r[2]) for r in reports),
        "bytes_per_request_at_info": _events_bytes(lines),
        "calls": len(reports),
    }


def access_log_bytes() -> dict[str, Any]:
    """The template's access log format, rendered for a successful POST /predict."""

    loader: Any = type("TemplateLoader", (yaml.SafeLoader,), {})
    loader.add_multi_constructor("!", lambda _loader, _suffix, _node: None)  # intrinsics do not matter here
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=loader)
    fmt = template["Resources"]["ApiStage"]["Properties"]["AccessLogSettings"]["Format"]
    values = {
        "$context.requestId": "Kx3bWh7yIAMEbqQ=",
        "$context.requestTimeEpoch": "1795791098810",
        "$context.identity.sourceIp": "203.0.113.42",
        "$context.routeKey": "POST /predict",
        "$context.status": "200",
        "$context.responseLatency": "23",
        "$context.integrationErrorMessage": "-",
    }
    line = re.sub(r"\$context\.[A-Za-z.]+", lambda m: values[m.group(0)], fmt)
    json.loads(line)
    return {"line": line, "bytes_per_request": _events_bytes([line])}


def cost(function: float, platform: float, access: float, billed_ms: float) -> dict[str, dict[str, Any]]:
    """Cost per million predictions, line by line, with each price and its source."""
    logs = (function + platform + access) * 1e6 / 1e9
    lines = {
        "lambda_requests": (1e6 * PRICES["lambda_request"][0], PRICES["lambda_request"][1]),
        "lambda_compute": (
            1e6 * billed_ms / 1000 * MEMORY_GB * PRICES["lambda_gb_second_x86"][0],
            f"{billed_ms:g} ms billed at {MEMORY_GB:g} GB; " + PRICES["lambda_gb_second_x86"][1],
        ),
        "http_api_requests": (1e6 * PRICES["http_api_request"][0], PRICES["http_api_request"][1]),
        "cloudwatch_logs": (logs * PRICES["logs_per_gb"][0], f"{logs:.3f} GB; " + PRICES["logs_per_gb"][1]),
    }
    result: dict[str, dict[str, Any]] = {
        name: {"usd": round(usd, 4), "basis": basis} for name, (usd, basis) in lines.items()
    }
    result["total"] = {"usd": round(sum(v["usd"] for v in result.values()), 4), "basis": "sum"}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    platform = platform_lines(args.model, min(args.calls, 200), args.work)
    access = access_log_bytes()
    function = function_bytes(args.model, args.calls)
    defaults = cost(function["bytes_per_request"], 0.0, access["bytes_per_request"], platform["billed_ms_median"])
    at_info = cost(
        function["bytes_per_request"],
        platform["bytes_per_request_at_info"],
        access["bytes_per_request"],
        platform["billed_ms_median"],
    )
    result = {
        "function": function,
        "platform": platform,
        "access_log": access,
        "cost": defaults,
        "cost_system_info": at_info,
    }
    sys.stdout.write(
        f"bytes per warm request: function {function['bytes_per_request']:.1f}, platform 0 at the default "
        f"SystemLogLevel=WARN ({platform['bytes_per_request_at_info']} at INFO), access log "
        f"{access['bytes_per_request']}; a rejected request writes {function['rejected_request_bytes']} bytes\n"
    )
    for name, line in defaults.items():
        sys.stdout.write(f"  {name:<18} ${line['usd']:<8.4f} {line['basis']}\n")
    sys.stdout.write(f"  (with SystemLogLevel=INFO: ${at_info['total']['usd']:.4f})\n")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
