"""One settings object, read from the environment once. The same variables are in template.yaml."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# Every variable read below; template.yaml's Globals sets each of them.
ENVIRONMENT = (
    "MODEL_DIR",
    "LOG_LEVEL",
    "MAX_BATCH_SIZE",
    "MAX_BODY_BYTES",
    "CORS_ORIGINS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
)


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot use."""


def _int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError as err:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from err
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    model_dir: str
    log_level: str
    max_batch_size: int
    max_body_bytes: int
    cors_origins: tuple[str, ...]
    service_name: str
    metrics_namespace: str

    @classmethod
    def from_env(cls) -> Settings:
        origins = os.environ.get("CORS_ORIGINS", "")
        return cls(
            model_dir=os.environ.get("MODEL_DIR", "/opt/model"),
            log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
            max_batch_size=_int("MAX_BATCH_SIZE", 1000, 1),
            max_body_bytes=_int("MAX_BODY_BYTES", 2 * 1024 * 1024, 1024),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            service_name=os.environ.get("POWERTOOLS_SERVICE_NAME", "wdbc-classifier"),
            metrics_namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "WdbcClassifier"),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
