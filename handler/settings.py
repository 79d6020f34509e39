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


DEFAULT_SERVICE = "wdbc-classifier"
DEFAULT_NAMESPACE = "WdbcClassifier"


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot use."""


def _int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError as err:
        raise SettingsError(f"{name} must be an integer, got {raw[:40]!r}") from err
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level() -> str:
    raw = os.environ.get("LOG_LEVEL", "INFO")
    if raw.upper() not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {list(LOG_LEVELS)}, got {raw[:40]!r}")
    return raw.upper()


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
            log_level=_log_level(),
            max_batch_size=_int("MAX_BATCH_SIZE", 1000, 1),
            max_body_bytes=_int("MAX_BODY_BYTES", 2 * 1024 * 1024, 1024),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            service_name=os.environ.get("POWERTOOLS_SERVICE_NAME", DEFAULT_SERVICE),
            metrics_namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
