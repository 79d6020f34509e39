"""template.yaml through sam validate --lint, cfn-lint, checkov and the SAM translator."""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from types import ModuleType
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from benchmarks import drift
from handler.limits import largest_batch
from infra.paths import ROOT
from local import sam
from model.predictor import Predictor

pytestmark = [pytest.mark.integration, pytest.mark.sam]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


@cache
def translated(*overrides: str) -> dict[str, Any]:
    result = _run(str(SAM_PYTHON), "-m", "infra.translate", *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_sam_validate_lint() -> None:
    result = _run(str(ROOT / ".venv-sam" / "bin" / "sam"), "validate", "--lint", "--template", "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint() -> None:
    result = _run(str(ROOT / ".venv-sam" / "bin" / "cfn-lint"), "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_has_no_failed_check_and_every_skip_is_justified() -> None:
    result = _run(
        str(ROOT / ".venv-checkov" / "bin" / "checkov"),
        "-f",
        "template.yaml",
        "--framework",
        "cloudformation",
        "--skip-download",
        "--output",
        "json",
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert summary["passed"] > 0
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 40, skipped["check_id"]


def test_function_with_both_layers() -> None:
    template = translated()
    function = template["Resources"]["ClassifierFunction"]
    props = function["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Handler"] == "handler.lambda_function.handler"
    assert props["MemorySize"] == {"Ref": "MemorySize"} and props["Timeout"] == {"Ref": "Timeout"}
    assert props["Architectures"] == [{"Ref": "Architecture"}]
    assert props["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservation", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": {"Ref": "FunctionLogGroup"},
        "ApplicationLogLevel": {"Fn::FindInMap": ["LambdaLogLevel", {"Ref": "LogLevel"}, "Level"]},
        "SystemLogLevel": {"Ref": "SystemLogLevel"},
    }
    assert template["Parameters"]["SystemLogLevel"]["Default"] == "WARN"
    layers = _of_type(template, "AWS::Lambda::LayerVersion")
    assert sorted(ref["Ref"] for ref in props["Layers"]) == sorted(layers)
    assert {name.rstrip("0123456789abcdef") for name in layers} == {"DependenciesLayer", "ModelLayer"}
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert props["Environment"]["Variables"]["MODEL_DIR"] == "/opt/model"
    defaults = template["Parameters"]
    assert defaults["MemorySize"]["Default"] == 1024 and defaults["Architecture"]["AllowedValues"] == [
        "x86_64",
        "arm64",
    ]


def test_settings_in_globals_match_the_settings_object() -> None:
    from handler.settings import ENVIRONMENT

    function = translated()["Resources"]["ClassifierFunction"]
    assert set(function["Properties"]["Environment"]["Variables"]) == set(ENVIRONMENT)
    source = (ROOT / "handler" / "settings.py").read_text()
    assert set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source) + re.findall(r'_int\("([A-Z_]+)"', source)) == set(
        ENVIRONMENT
    )


def test_api_routes_throttling_and_access_logs() -> None:
    template = translated()
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"] for r in _of_type(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {
        "POST /predict",
        "POST /predict/batch",
        "POST /features",
        "GET /features/demo",
        "GET /health",
        "GET /model",
        "GET /docs",
        "GET /docs/assets/{asset}",
        "GET /openapi.json",
        "GET /v2",
        "GET /v2/health/live",
        "GET /v2/health/ready",
        "GET /v2/models/{name}",
        "GET /v2/models/{name}/ready",
        "GET /v2/models/{name}/versions/{version}",
        "GET /v2/models/{name}/versions/{version}/ready",
        "POST /v2/models/{name}/infer",
        "POST /v2/models/{name}/versions/{version}/infer",
        "GET /v1/models/{name}",
        "POST /v1/models/{proxy+}",
        "GET /",
    }
    for route in routes.values():
        assert route["AuthorizationType"] == {"Fn::If": ["UseIam", "AWS_IAM", "NONE"]}
    [stage] = _of_type(template, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    access = stage["Properties"]["AccessLogSettings"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["AccessLogGroup", "Arn"]}
    fields = json.loads(access["Format"])
    assert set(fields) == {"requestId", "time", "ip", "routeKey", "status", "latencyMs", "error"}
    [integration] = _of_type(template, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"


def test_log_retention_alarms_and_outputs() -> None:
    template = translated()
    groups = _of_type(template, "AWS::Logs::LogGroup")
    assert {g["Properties"]["RetentionInDays"]["Ref"] for g in groups.values()} == {"LogRetentionDays"}
    alarms = {
        a["Properties"].get("MetricName"): a["Properties"]
        for a in _of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    assert alarms["5xx"]["Namespace"] == "AWS/ApiGateway"
    assert alarms["Duration"]["ExtendedStatistic"] == "p99"
    assert {"ApiUrl", "FunctionName", "ModelLayerArn"} <= set(template["Outputs"])


def test_snapstart_and_auth_follow_their_parameters() -> None:
    function = translated()["Resources"]["ClassifierFunction"]
    assert function["Properties"]["SnapStart"] == {"ApplyOn": {"Fn::If": ["UseSnapStart", "PublishedVersions", "None"]}}
    assert _of_type(translated(), "AWS::Lambda::Alias"), "SnapStart applies to published versions: an alias is needed"
    conditions = translated()["Conditions"]
    assert conditions["UseIam"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "AWS_IAM"]}


def test_batch_limit_bound_follows_from_the_largest_answer(predictor: Predictor) -> None:
    # GIVEN the largest answer one explained record with every warning can produce under this model
    parameter = translated()["Parameters"]["MaxBatchSize"]
    # THEN the template's bound keeps the largest batch answer under 5 MiB, and its default within the bound
    assert parameter["Default"] <= parameter["MaxValue"] <= largest_batch(predictor)


def test_every_route_the_app_serves_is_declared_and_no_other(lambda_module: ModuleType) -> None:
    declared = {r["Properties"]["RouteKey"] for r in _of_type(translated(), "AWS::ApiGatewayV2::Route").values()}
    lambda_module.app.openapi()  # builds the protocol routes that are otherwise built on first use
    served = {
        # An HTTP API path variable is a whole segment: KServe V1's "{name}:verb" routes are one greedy route
        re.sub(r"\{name\}:[a-z]+$", "{proxy+}", f"{method} {route.path_format}")
        for route in lambda_module.app.router.routes
        if isinstance(route, APIRoute | Route)
        for method in route.methods or ()
        if method in ("GET", "POST")
    }
    assert declared == served


def test_dashboard_and_drift_alarms() -> None:
    template = translated()
    [dashboard] = _of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in (
        "Requests, errors, throttles",
        "Latency (ms)",
        "Cold starts",
        "Label mix and flags",
        "Largest feature drift (PSI)",
        "Calibrated probability histogram",
        "Most drifted features",
    ):
        assert title in body, title
    alarms = {
        a["Properties"].get("MetricName"): a["Properties"]
        for a in _of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    assert alarms["OutOfDistributionRate"]["Threshold"] == {"Ref": "AlarmOutOfDistributionPercent"}
    assert alarms["LargestFeaturePsi"]["Threshold"] == {"Ref": "AlarmFeaturePsi"}
    assert alarms["EstimatedAccuracy"]["Threshold"] == {"Ref": "AlarmEstimatedAccuracyPercent"}
    assert alarms["EstimatedAccuracy"]["ComparisonOperator"] == "LessThanThreshold"
    assert template["Parameters"]["AlarmFeaturePsi"]["Default"] == drift.ALARM_PSI


def test_canary_release_with_hook_alarms_topic_and_least_privilege() -> None:
    template = translated()
    resources = template["Resources"]
    # CodeDeploy shifts the live alias by the chosen deployment type, rolled back by three alarms
    [application] = _of_type(template, "AWS::CodeDeploy::Application").values()
    assert application["Properties"]["ComputePlatform"] == "Lambda"
    [group] = _of_type(template, "AWS::CodeDeploy::DeploymentGroup").values()
    alarms = [a["Name"]["Ref"] for a in group["Properties"]["AlarmConfiguration"]["Alarms"]]
    assert alarms == ["NewVersionErrorsAlarm", "ServerErrorAlarm", "DurationAlarm"]
    assert set(group["Properties"]["AutoRollbackConfiguration"]["Events"]) >= {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
    }
    assert template["Parameters"]["DeploymentType"]["Default"] == "Canary10Percent5Minutes"
    assert "AllAtOnce" in template["Parameters"]["DeploymentType"]["AllowedValues"]
    [alias] = _of_type(template, "AWS::Lambda::Alias").values()
    hooks = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert hooks["BeforeAllowTrafficHook"] == {"Ref": "PreTrafficHookFunction"}
    # The hook: its own function, named for CodeDeploy's role, with a role that can do three things only
    hook = resources["PreTrafficHookFunction"]["Properties"]
    assert hook["Handler"] == "pretraffic.handler" and hook["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_")
    assert hook["Environment"]["Variables"]["TARGET_VERSION_ARN"] == {
        "Ref": "ClassifierFunctionVersion" + _suffix(resources)
    }
    [hook_policy] = resources["PreTrafficHookRole"]["Properties"]["Policies"]
    statements = {st["Sid"]: st for st in hook_policy["PolicyDocument"]["Statement"]}
    assert statements["InvokeTheNewVersionOnly"]["Action"] == "lambda:InvokeFunction"
    assert statements["ReportToThisDeploymentGroup"]["Action"] == "codedeploy:PutLifecycleEventHookExecutionStatus"
    assert statements["OwnLogGroupOnly"]["Resource"] == {"Fn::GetAtt": ["HookLogGroup", "Arn"]}
    # The classifier's role: its own log group and X-Ray, exactly
    classifier = resources["ClassifierFunction"]["Properties"]
    assert classifier["Role"] == {"Fn::GetAtt": ["ClassifierRole", "Arn"]}
    [policy] = resources["ClassifierRole"]["Properties"]["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "OwnLogGroupOnly",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": ["FunctionLogGroup", "Arn"]},
        },
        {
            "Sid": "Traces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    ]
    assert "ManagedPolicyArns" not in resources["ClassifierRole"]["Properties"]
    # The invoke permission names the stage that exists
    [permission] = [p for p in _of_type(template, "AWS::Lambda::Permission").values() if "SourceArn" in p["Properties"]]
    assert permission["Properties"]["SourceArn"]["Fn::Sub"].endswith("${HttpApi}/${ApiStage}/*")
    # Every alarm tells the encrypted topic, which an optional e-mail subscribes to
    for name, alarm in _of_type(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    metrics = {a["Properties"].get("MetricName") for a in _of_type(template, "AWS::CloudWatch::Alarm").values()}
    assert {"Errors", "Throttles", "5xx", "Duration", None} <= metrics  # None: the concurrency expression
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmKey"}
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasEmail"
    assert resources["MonthlyBudget"]["Condition"] == "HasBudget"
    # Every parameter is bounded
    for name, parameter in template["Parameters"].items():
        bounded = {"AllowedValues", "AllowedPattern"} & set(parameter) or {"MinValue", "MaxValue"} <= set(parameter)
        assert bounded or parameter["Type"] == "CommaDelimitedList", name


def _suffix(resources: dict[str, Any]) -> str:
    [version] = [name for name in resources if name.startswith("ClassifierFunctionVersion")]
    return version.removeprefix("ClassifierFunctionVersion")


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return list(_of_type(template, "AWS::CloudWatch::Alarm").values())


def _resolve(value: Any, template: dict[str, Any], parameters: dict[str, Any]) -> Any:
    """Conditions and Fn::If evaluated as CloudFormation would for these parameter values."""
    if isinstance(value, dict) and len(value) == 1:
        [(key, arg)] = value.items()
        if key == "Ref":
            return parameters.get(arg, value)
        if key == "Fn::Equals":
            left, right = (_resolve(a, template, parameters) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not _resolve(arg[0], template, parameters)
        if key == "Condition":
            return _resolve(template["Conditions"][arg], template, parameters)
        if key == "Fn::If":
            chosen = arg[1] if _resolve(template["Conditions"][arg[0]], template, parameters) else arg[2]
            return _resolve(chosen, template, parameters)
    return value


@pytest.mark.parametrize(("reserved", "expected"), [("0", {"Ref": "AWS::NoValue"}), ("25", "25")])
def test_a_fresh_account_gets_no_reservation(reserved: str, expected: Any) -> None:
    # GIVEN the default (0), as an account with a concurrency quota of 10 needs, or an explicit reservation
    template = translated(f"ReservedConcurrency={reserved}")
    parameters = {
        **{k: str(v.get("Default")) for k, v in template["Parameters"].items()},
        "ReservedConcurrency": reserved,
    }
    function = template["Resources"]["ClassifierFunction"]["Properties"]
    # THEN the function reserves nothing at 0 (the property left out), and the concurrency alarm goes with it
    assert _resolve(function["ReservedConcurrentExecutions"], template, parameters) == expected
    alarm = template["Resources"]["ConcurrencyAlarm"]
    assert _resolve({"Condition": alarm["Condition"]}, template, parameters) == (reserved != "0")
    assert template["Parameters"]["ReservedConcurrency"]["Default"] == 0


def test_sam_local_start_api_mounts_every_route_at_the_function() -> None:
    # GIVEN the routes as the SAM CLI's own provider reads them for `sam local start-api`
    mounted = sam.routes(ROOT / "template.yaml")
    # THEN every route is mounted at the classifier function (it was None for all, and every request 502)
    declared = {r["Properties"]["RouteKey"] for r in _of_type(translated(), "AWS::ApiGatewayV2::Route").values()}
    assert len(mounted) == len(declared)
    assert {function for _, _, function in mounted} == {"ClassifierFunction"}


def test_the_deployed_integration_still_targets_the_live_alias() -> None:
    template = translated()
    [integration] = _of_type(template, "AWS::ApiGatewayV2::Integration").values()
    [alias_name] = [n for n, r in _of_type(template, "AWS::Lambda::Alias").items() if r["Properties"]["Name"] == "live"]
    # The URI is the function's ARN qualified by the alias, and the alias exists before the integration
    assert integration["Properties"]["IntegrationUri"] == {"Fn::Sub": "${ClassifierFunction.Arn}:live"}
    assert integration["DependsOn"] == alias_name
    # AND API Gateway may invoke that alias, from this API's stage only
    [permission] = _of_type(template, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["FunctionName"] == {"Ref": alias_name}
