"""The one place that reads the environment and config files.

Precedence: init arguments > environment ``LEAKWATCH_*`` > ``$LEAKWATCH_HOME/config.toml`` > defaults.
Settings are built once at start (see ``app.py``) and passed down, never read globally.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from leakwatch.errors import ConfigError

Severity = Literal["low", "medium", "high", "critical"]


def default_home() -> Path:
    """``LEAKWATCH_HOME``, else systemd's StateDirectory, else the platform's user data directory."""
    if env := os.environ.get("LEAKWATCH_HOME"):
        return Path(env)
    if state := os.environ.get("STATE_DIRECTORY"):
        return Path(state.split(":")[0])
    return Path(platformdirs.user_data_dir("leakwatch", appauthor=False))


WEBHOOK_SCHEMES = {"webhook+json": "http", "webhook+jsons": "https"}
"""Route schemes that POST the signed JSON document (``incidents.webhook``), and the scheme each posts over."""
WEBHOOK_MIN_SECRET = 16


def is_webhook(url: str) -> bool:
    return url.split("://", 1)[0].lower() in WEBHOOK_SCHEMES


class AlertRoute(BaseModel):
    """Where alerts of at least ``min_severity`` go: apprise URLs."""

    model_config = ConfigDict(extra="forbid")
    min_severity: Severity = "medium"
    urls: list[str] = Field(default_factory=list)
    include_refs: bool = False
    operator: bool = True
    """Also send operator alerts (a source failing or recovering, a wrong key) to this route."""
    secret: SecretStr | None = None
    """Signing secret (HMAC-SHA256) of this route's ``webhook+json://`` and ``webhook+jsons://`` URLs."""

    @model_validator(mode="after")
    def _webhooks_are_signed(self) -> AlertRoute:
        weak = self.secret is None or len(self.secret.get_secret_value()) < WEBHOOK_MIN_SECRET
        if weak and any(is_webhook(url) for url in self.urls):
            raise ValueError(f"webhook+json URLs need a secret of at least {WEBHOOK_MIN_SECRET} characters "
                                 "(secret = \"...\" in the route)")
        return self


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    routes: list[AlertRoute] = Field(default_factory=list)
    retry_initial: float = 5.0
    retry_max: float = 600.0
    send_timeout: float = 20.0
    delivery_interval: float = 5.0
    """Seconds between two passes of the daemon over the outbox."""


class DaemonSettings(BaseModel):
    """``leakwatch run``: scheduling and shutdown."""

    model_config = ConfigDict(extra="forbid")
    jitter: float = 10.0
    """Up to this many seconds added at random to each source's run time. On PostgreSQL (several
    instances), the spread of a new source's first poll; later polls keep its cadence."""
    shutdown_timeout: float = 5.0
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """``debug`` also logs the daemon's polls that found nothing new."""
    """On SIGTERM, seconds given to the item in hand before its transaction is rolled back."""


class ClusterSettings(BaseModel):
    """Several ``leakwatch run`` on one PostgreSQL: source leases, the shared scan queue, heartbeats.
    Not used on SQLite (one instance)."""

    model_config = ConfigDict(extra="forbid")
    renew: float = Field(10.0, gt=0)
    """Seconds between two renewals of a lease (source or part) and two heartbeats."""
    lease: float = Field(30.0, gt=0)
    """Seconds a lease lasts unrenewed: a killed instance's sources and parts are taken over after this."""
    tick: float = Field(1.0, gt=0)
    """Seconds between two looks for due sources and queued parts."""
    split_bytes: int = Field(256 * 1024 * 1024, ge=1024)
    """Drop-folder text files larger than this are split into parts that every instance scans."""
    part_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    """Bytes per part (cut at a line end)."""


class SeveritySettings(BaseModel):
    """Thresholds that turn findings into an incident severity."""

    model_config = ConfigDict(extra="forbid")
    high_records: int = 10
    critical_records: int = 1000
    overlap: float = 0.5
    """Sightings whose record sets overlap this much (Jaccard of refs) fold into one incident."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEAKWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    home: Path = Field(default_factory=default_home)
    key_file: Path | None = None
    database_url: str | None = None
    database_busy_timeout: float = Field(30.0, gt=0)
    """Seconds to wait for a lock another process holds on the SQLite database before saying the
    database is busy (exit 75)."""

    default_region: str = "FR"
    proximity: int = 300
    name_threshold: float = 0.7
    term_threshold: float = Field(88.0, ge=0, le=100)
    """Watch terms: lowest similarity (0-100) of a phrase to a term that counts as a mention."""
    canary_domain: str = "example.org"
    organisation: str = ""
    """Your organisation's name, as exports (STIX identity, MISP) and the DPO's draft name it; when
    empty, the first watch term of kind ``org``."""

    scan_workers: int = 0
    """Processes that match large documents (several MB) in parallel; 0 is one per core, 1 none."""
    scan_parallel_from: int = Field(8 * 1024 * 1024, ge=0)
    """Bytes of an item (a file, a download) from which its scan starts the worker processes; a
    smaller one is matched in this process, since starting them (a second or more each: imports,
    the index mapped, their caches warmed) costs more than they save on it. Workers already
    running take any document over 2 MB."""
    max_item_bytes: int = 50 * 1024 * 1024
    max_expanded_bytes: int = 1024 * 1024 * 1024
    max_expansion_ratio: int = 200
    max_archive_depth: int = 3

    user_agent: str = "leakwatch/0.1 (+https://github.com/leakwatch/leakwatch; leak monitoring)"
    http_timeout: float = 20.0
    allow_private_urls: list[str] = Field(default_factory=list)
    """Private, loopback or link-local destinations that URLs discovered in fetched content may
    reach anyway: ``host``, ``host:port`` or a CIDR (``10.0.0.0/8``). URLs typed by the user and
    the listing URLs of source definitions are not checked, nor their redirects on the same origin;
    every other redirect is."""
    http_connect_timeout: float = 10.0
    http_total_timeout: float = 300.0
    """Seconds one attempt may take in all: a server that drips its answer cannot hold a poll."""
    http_retries: int = 4
    """Retries after the first attempt, for 429, 5xx, timeouts and dropped connections."""
    http_retry_max_time: float = 120.0
    """Total seconds one request may spend waiting between retries; a longer Retry-After gives up."""
    http_backoff_base: float = 1.0
    http_backoff_max: float = 60.0
    http_host_interval: float = 1.0
    """Minimum seconds between two requests to one host (a source's ``rate_limit`` overrides)."""
    http_max_redirects: int = 5
    source_failing_after: int = 3
    """Consecutive failed polls after which a source goes from degraded to failing."""
    hibp_api_key: SecretStr = SecretStr("")
    github_token: SecretStr = SecretStr("")
    source_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    """Credentials that source definitions name in ``auth.secret`` (``LEAKWATCH_SOURCE_SECRETS__NAME``)."""
    metrics_address: str = ""

    sources: list[dict[str, Any]] = Field(default_factory=list)
    enabled_sources: list[str] = Field(default_factory=list)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    severity: SeveritySettings = Field(default_factory=SeveritySettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=default_home() / "config.toml")
        return (init_settings, env_settings, toml)

    @property
    def config_file(self) -> Path:
        return self.home / "config.toml"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'leakwatch.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one line naming the file and key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        top = f"LEAKWATCH_{err['loc'][0]}".upper() if err["loc"] else ""
        env = [k for k in os.environ if k.upper() == top or k.upper().startswith(top + "__")] if top else []
        origin = f"environment {env[0]}" if env else str(default_home() / "config.toml")
        raise ConfigError(f"{origin}: {where}: {err['msg']}") from None
    except ValueError as exc:  # TOML syntax, or an environment variable that is not the JSON a list or table needs
        env = re.match(r'error parsing value for field "(\w+)" from source "EnvSettingsSource"', str(exc))
        if env:
            top = f"LEAKWATCH_{env[1]}".upper()
            name = next((k for k in os.environ if k.upper() == top), top)
            raise ConfigError(f"environment {name}: {env[1]}: not valid JSON (a list or a table is written "
                              'as JSON, e.g. \'["a", "b"]\' or \'{"key": "value"}\')') from None
        raise ConfigError(f"{default_home() / 'config.toml'}: {exc}") from None
