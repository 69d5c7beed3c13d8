"""The one place that reads the environment and config files.

Precedence: init arguments > environment ``LEAKWATCH_*`` > ``$LEAKWATCH_HOME/config.toml`` > defaults.
Settings are built once at start (see ``app.py``) and passed down, never read globally.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError
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


class AlertRoute(BaseModel):
    """Where alerts of at least ``min_severity`` go: apprise URLs."""

    model_config = ConfigDict(extra="forbid")
    min_severity: Severity = "medium"
    urls: list[str] = Field(default_factory=list)
    include_refs: bool = False


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    routes: list[AlertRoute] = Field(default_factory=list)
    retry_initial: float = 5.0
    retry_max: float = 600.0
    send_timeout: float = 20.0


class SeveritySettings(BaseModel):
    """Thresholds that turn findings into an incident severity."""

    model_config = ConfigDict(extra="forbid")
    high_records: int = 10
    critical_records: int = 1000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEAKWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    home: Path = Field(default_factory=default_home)
    key_file: Path | None = None
    database_url: str | None = None

    default_region: str = "FR"
    proximity: int = 300
    name_threshold: float = 0.7
    term_threshold: float = 88.0
    canary_domain: str = "example.org"

    max_item_bytes: int = 50 * 1024 * 1024
    max_expanded_bytes: int = 1024 * 1024 * 1024
    max_expansion_ratio: int = 200
    max_archive_depth: int = 3

    user_agent: str = "leakwatch/0.1 (+https://github.com/leakwatch/leakwatch; leak monitoring)"
    http_timeout: float = 20.0
    allow_private_urls: list[str] = Field(default_factory=list)
    metrics_address: str = ""

    sources: list[dict[str, Any]] = Field(default_factory=list)
    enabled_sources: list[str] = Field(default_factory=list)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    severity: SeveritySettings = Field(default_factory=SeveritySettings)

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
        raise ConfigError(f"{default_home() / 'config.toml'}: {where}: {err['msg']}") from None
    except ValueError as exc:  # TOML syntax
        raise ConfigError(f"{default_home() / 'config.toml'}: {exc}") from None
