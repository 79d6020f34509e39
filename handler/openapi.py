"""The OpenAPI document, completed with what only the loaded model knows.

The request models are static; this adds each feature's training range and a real example row,
the operating points and alpha levels the artifact defines, and the batch limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from model.manifest import Manifest


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
        model["properties"]["operating_point"]["enum"] = points
        model["properties"]["alpha"]["enum"] = alphas
    if "PredictRequest" in components:
        components["PredictRequest"]["examples"] = [{"features": example}]
    if "BatchRequest" in components:
        instances = components["BatchRequest"]["properties"]["instances"]
        instances["maxItems"] = max_batch_size
        instances["description"] = f"1 to {max_batch_size} records"


class ClassifierAPI(FastAPI):
    """FastAPI whose OpenAPI document is completed from the loaded model once, when first asked for."""

    def __init__(
        self, manifest: Manifest, max_batch_size: int, extra_models: Sequence[type[BaseModel]] = (), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._manifest, self._max_batch_size, self._extra_models = manifest, max_batch_size, extra_models

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            complete(schema, self._manifest, self._max_batch_size)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in self._extra_models:  # bodies a route reads itself, documented all the same
                document = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(document.pop("$defs", {}))
                components[model.__name__] = document
        return super().openapi()
