"""The OpenAPI document, completed when first asked for: answers' models, errors, and what only the model knows.

The routes declare no response models (each would cost a cold start a schema build, twice in this
FastAPI): a route names its answer's model with `success(...)`, and this adds the models, every
error status each route can answer with the error shape of its protocol, each feature's training
range and a real example row, the operating points and alpha levels the artifact defines, and the
batch limit.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from fastapi import FastAPI
from fastapi.openapi.models import OpenAPI, Operation
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from model.manifest import Manifest
from model.rules import CROSS_FIELD_RULES
from model.schema import N_FEATURES

if TYPE_CHECKING:
    from handler.deps import AppState

REF = "#/components/schemas/{model}"
ERROR_STATUSES = {
    400: "malformed JSON",
    404: "no such route",
    405: "method not allowed on this route",
    413: "body over the size limit (checked before parsing)",
    415: "content type other than application/json",
    422: "validation failed: each violation names the field, the rule and the value",
}
OPERATION_ORDER = {name: i for i, name in enumerate(Operation.model_fields)}
# FastAPI's own 422 documentation, which our ErrorResponse replaces on every route.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


class ErrorDocs(NamedTuple):
    """The errors of the routes whose path `applies`: their statuses and the model of their body."""

    applies: Callable[[str], bool]
    statuses: Mapping[int, str]
    model: str


def success(model: str) -> dict[str, Any]:
    """A route's `openapi_extra`: its 200 answer is `model` (a class of handler.responses)."""
    return {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}}}


def documented(model: str | None, *parameters: tuple[str, str], **extra: Any) -> dict[str, Any]:
    """A route's `response_model` and `openapi_extra`: its 200 answer's model, and path parameters the
    route reads from the request itself (a declared one costs the cold start a schema build per route)."""
    described = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "description": text, "title": name.title()},
            "description": text,
        }
        for name, text in parameters
    ]
    openapi_extra = {**extra, **(success(model) if model else {}), **({"parameters": described} if described else {})}
    return {"response_model": None, "openapi_extra": openapi_extra}


def _json_content(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model)}}}


def add_errors(schema: dict[str, Any], protocols: Sequence[ErrorDocs]) -> None:
    """Every operation's error answers: ours, or those of the protocol its path belongs to. Each
    operation's keys are put in FastAPI's order, as if the routes had declared all of it."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            errors = {status: (text, "ErrorResponse") for status, text in ERROR_STATUSES.items()}
            for protocol in protocols:
                if protocol.applies(path):
                    errors.update({status: (text, protocol.model) for status, text in protocol.statuses.items()})
            operation["responses"] = {
                "200": operation["responses"]["200"],
                **{
                    str(status): {"description": text, "content": _json_content(model)}
                    for status, (text, model) in sorted(errors.items())
                },
            }
            operations[method] = dict(sorted(operation.items(), key=lambda item: OPERATION_ORDER.get(item[0], 99)))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        components.pop(name, None)


def add_models(schema: dict[str, Any], models: Sequence[type[BaseModel]]) -> None:
    """The answers' models into the document's components, in FastAPI's order (by name)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    inputs: list[tuple[Any, JsonSchemaMode, Any]] = [(m, "serialization", m.__pydantic_core_schema__) for m in models]
    _, definitions = GenerateJsonSchema(ref_template=REF).generate_definitions(inputs=inputs)  # as FastAPI does
    components.update(definitions)
    schema["components"]["schemas"] = dict(sorted(components.items()))


def complete(schema: dict[str, Any], manifest: Manifest, max_batch_size: int) -> None:
    """Add the model's ranges, examples, allowed options and the batch limit to `schema`, in place."""
    components = schema.get("components", {}).get("schemas", {})
    example = dict(manifest.examples["malignant"].features)
    features = components.get("Features")
    if features is not None:
        features["examples"] = [example]
        for spec in manifest.features:
            prop = features["properties"][spec.name]
            prop["description"] += f" Training range {spec.training_min:g} to {spec.training_max:g}."
            prop["x-training-min"], prop["x-training-max"] = spec.training_min, spec.training_max
            prop["examples"] = [example[spec.name]]
    points = list(manifest.operating_points)
    alphas = sorted(level.alpha for level in manifest.conformal.levels)
    for name in ("PredictRequest", "BatchRequest"):
        model = components.get(name)
        if model is None:
            continue
        point = model["properties"]["operating_point"]
        point["enum"] = points
        targets = "; ".join(f"{name}: {op.target}" for name, op in manifest.operating_points.items())
        point["description"] += f" ({targets})"
        # A list of number constants rather than a number enum, which client generators such as
        # openapi-python-client cannot model (the server's check stays as strict: these values only).
        alpha = model["properties"]["alpha"]
        alpha.pop("type", None)
        alpha["anyOf"] = [{"type": "number", "const": value} for value in alphas]
    if "PredictRequest" in components:
        components["PredictRequest"]["examples"] = [{"features": example}]
    if "BatchRequest" in components:
        instances = components["BatchRequest"]["properties"]["instances"]
        instances["maxItems"] = max_batch_size
        instances["description"] = f"1 to {max_batch_size} records"


LICENSE = {"name": "MIT License", "identifier": "MIT"}
# How AWS describes SigV4 in OpenAPI (API Gateway's own export writes this scheme for AWS_IAM routes).
SIGV4 = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "AWS Signature Version 4 (AuthMode=AWS_IAM): sign each request for the execute-api service",
    "x-amazon-apigateway-authtype": "awsSigv4",
}
CROSS_FIELD_EXTENSION = "x-cross-field-rules"


def for_tools(schema: dict[str, Any], state: "AppState") -> None:
    """What generic tools need and the schema cannot say, in place: path parameters' valid values, links
    from the model's metadata to every operation taking its name and version, examples of each request
    body and answer (handler.examples), the cross-field rules, the security of the deployment, the licence."""
    from handler import examples

    name, version = state.settings.model_name, state.predictor.version
    asked = examples.requests(state)
    answered = examples.answers(state, asked)
    valid = {"name": name, "version": version}
    security: list[dict[str, list[str]]] = [{"sigv4": []}] if state.settings.auth_mode == "AWS_IAM" else []
    linked: dict[str, dict[str, str]] = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                if parameter["in"] == "path" and parameter["name"] in valid:
                    parameter["schema"]["enum"] = [valid[parameter["name"]]]
                    parameter["example"] = valid[parameter["name"]]
            if parameters:
                linked[operation["operationId"]] = {
                    p["name"]: "$response.body#/name" if p["name"] == "name" else "$response.body#/versions/0"
                    for p in parameters
                }
            if (method, path) in asked:
                operation["requestBody"]["content"]["application/json"]["examples"] = asked[(method, path)]
            if (method, path) in answered:
                operation["responses"]["200"]["content"]["application/json"]["example"] = answered[(method, path)]
            operation["security"] = security
    metadata = schema["paths"]["/v2/models/{name}"]["get"]
    metadata["responses"]["200"]["links"] = {
        operation_id: {"operationId": operation_id, "parameters": parameters}
        for operation_id, parameters in linked.items()
        if operation_id != metadata["operationId"]
    }
    _protocol_schemas(schema["components"]["schemas"], state)
    _cross_field_rules(schema)
    schema["info"]["license"] = LICENSE
    if state.settings.contact_url:
        schema["info"]["contact"] = {"name": "report a problem", "url": state.settings.contact_url}
    if security:
        schema.setdefault("components", {})["securitySchemes"] = {"sigv4": SIGV4}


def _cross_field_rules(schema: dict[str, Any]) -> None:
    """The rules JSON Schema cannot state, from their declarations, where tools read them."""
    from handler.kserve import v2
    from model import features

    rules: list[dict[str, Any]] = [{**rule._asdict(), "applies_to": "every record"} for rule in CROSS_FIELD_RULES]
    rules += [
        {"rule": rule, "statement": statement, "applies_to": "Open Inference Protocol (V2) inference requests"}
        for rule, statement in v2.TENSOR_RULES.items()
    ]
    rules += [
        {"rule": rule, "statement": statement, "applies_to": "POST /features"}
        for rule, statement in features.RULES.items()
    ]
    schema[CROSS_FIELD_EXTENSION] = {
        "description": "Hard rules between fields, which JSON Schema cannot state: a request that breaks one is "
        "refused (422 naming the field, the rule and the value; on the KServe protocols 400, its message ending "
        "with the rule's name). Record rules apply to Features objects, V1 instances and V2 rows in schema order.",
        "rules": rules,
    }
    properties = schema["components"]["schemas"]["Features"]["properties"]
    for rule in CROSS_FIELD_RULES:
        properties[rule.field]["description"] += (
            f" Must be >= {rule.at_least} (rule {rule.rule}: {rule.reason}; see {CROSS_FIELD_EXTENSION})."
        )


def _protocol_schemas(components: dict[str, Any], state: "AppState") -> None:
    """The KServe protocols' request bodies as this server checks them, not as the protocols allow any model's:
    output names, numeric datatypes, shapes and batch limit, rows of 30 non-negative numbers, the options."""
    from handler.kserve import v2  # with the document, never at init

    limit = state.settings.max_batch_size
    number = {"type": "number", "minimum": 0}
    row = {"type": "array", "items": number, "minItems": N_FEATURES, "maxItems": N_FEATURES}
    options = components["PredictRequest"]["properties"]
    v1_options: dict[str, Any] = {"type": "object", "properties": {k: options[k] for k in ("operating_point", "alpha")}}
    content_type = {
        "anyOf": [{"type": "string", "enum": ["np", "pd"]}, {"type": "null"}],
        "description": "np (or null): one [n, 30] tensor; pd: 30 columns",
    }
    v2_options = {"type": "object", "properties": {**v1_options["properties"], "content_type": content_type}}
    tensor = components["TensorIn"]["properties"]
    tensor["datatype"]["enum"] = sorted(v2.NUMERIC)
    dimension = {"type": "integer", "minimum": 1, "maximum": max(limit, N_FEATURES)}
    tensor["shape"].update(items=dimension, minItems=1, maxItems=2, description="[n, 30]; [n] for pd")
    tensor["data"]["items"] = {"anyOf": [number, row]}
    request = components["InferenceRequest"]["properties"]
    request["parameters"] = {"anyOf": [v2_options, {"type": "null"}]}
    request["model_name"]["anyOf"][0]["enum"] = [state.settings.model_name]
    request["model_version"]["anyOf"][0]["enum"] = [state.predictor.version]
    request["inputs"]["maxItems"] = N_FEATURES
    components["OutputRequest"]["properties"]["name"]["enum"] = list(v2.OUTPUTS)
    v1 = components["V1Request"]["properties"]
    v1["instances"]["items"] = {"anyOf": [row, {"$ref": REF.format(model="Features")}]}
    v1["instances"]["maxItems"] = limit
    v1["parameters"] = {"anyOf": [v1_options, {"type": "null"}], "description": "the operating point and alpha"}


class ClassifierAPI(FastAPI):
    """FastAPI whose OpenAPI document is completed from the loaded model once, when first asked for."""

    def __init__(
        self,
        manifest: Manifest,
        max_batch_size: int,
        extra_models: Sequence[type[BaseModel]] = (),
        protocols: Sequence[ErrorDocs] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._manifest, self._max_batch_size, self._extra_models = manifest, max_batch_size, extra_models
        self._protocols = protocols

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            from handler import responses  # documentation only: never built at init

            schema = super().openapi()
            add_errors(schema, self._protocols)
            add_models(schema, responses.DOCUMENTED)
            # FastAPI's own normal form of the document, as if the routes had declared the models
            schema = OpenAPI(**schema).model_dump(by_alias=True, exclude_none=True)
            complete(schema, self._manifest, self._max_batch_size)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in self._extra_models:  # bodies a route reads itself, documented all the same
                document = model.model_json_schema(ref_template=REF)
                components.update(document.pop("$defs", {}))
                components[model.__name__] = document
            for_tools(schema, self.state.app_state)
            self.openapi_schema = schema
        return self.openapi_schema
