"""One settings object, read from the environment once. The same variables are in template.yaml."""

import os
import re
from functools import lru_cache
from typing import NamedTuple

# Every variable read below; template.yaml's Globals sets each of them.
ENVIRONMENT = (
    "MODEL_DIR",
    "LOG_LEVEL",
    "MAX_BATCH_SIZE",
    "MAX_BODY_BYTES",
    "CORS_ORIGINS",
    "MODEL_NAME",
    "DRIFT_WINDOW",
    "AUTH_MODE",
    "CONTACT_URL",
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


def _model_name() -> str:
    raw = os.environ.get("MODEL_NAME", "wdbc")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", raw):
        raise SettingsError(f"MODEL_NAME must be 1 to 64 letters, digits, '.', '_' or '-', got {raw[:40]!r}")
    return raw


AUTH_MODES = ("NONE", "AWS_IAM")


def _auth_mode() -> str:
    raw = os.environ.get("AUTH_MODE", "NONE")
    if raw not in AUTH_MODES:
        raise SettingsError(f"AUTH_MODE must be one of {list(AUTH_MODES)} (the template's AuthMode), got {raw[:40]!r}")
    return raw


def _contact_url() -> str | None:
    raw = os.environ.get("CONTACT_URL", "").strip()
    if raw and not re.fullmatch(r"(https://|mailto:)\S{1,300}", raw):
        raise SettingsError(f"CONTACT_URL must be an https:// or mailto: URL, or empty; got {raw[:40]!r}")
    return raw or None


class Settings(NamedTuple):
    model_dir: str
    log_level: str
    max_batch_size: int
    max_body_bytes: int
    cors_origins: tuple[str, ...]
    model_name: str  # the model's name in the Open Inference Protocol routes (/v2/models/{name})
    drift_window: int  # predictions gathered before one aggregated metrics line is written
    auth_mode: str  # how API Gateway guards the routes (the template's AuthMode): the document's security
    contact_url: str | None  # where the API document tells its readers to report problems
    service_name: str
    metrics_namespace: str

    @classmethod
    def from_env(cls) -> "Settings":
        origins = os.environ.get("CORS_ORIGINS", "")
        return cls(
            model_dir=os.environ.get("MODEL_DIR", "/opt/model"),
            log_level=_log_level(),
            max_batch_size=_int("MAX_BATCH_SIZE", 1000, 1),
            max_body_bytes=_int("MAX_BODY_BYTES", 2 * 1024 * 1024, 1024),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            model_name=_model_name(),
            drift_window=_int("DRIFT_WINDOW", 50, 10),
            auth_mode=_auth_mode(),
            contact_url=_contact_url(),
            service_name=os.environ.get("POWERTOOLS_SERVICE_NAME", DEFAULT_SERVICE),
            metrics_namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
