"""Source definitions: TOML files naming a driver and its parameters, validated strictly.

Definitions come from three places, later ones overriding earlier ones by ``name``:

1. the shipped ones (repo ``sources/``, installed as ``leakwatch/data/sources``),
2. the user's ``$LEAKWATCH_HOME/sources.d/*.toml``,
3. inline ``[[sources]]`` tables of ``config.toml``. An inline table without ``driver`` patches
   the definition of the same name (``{ name = "ransomwatch", enabled = true }``).

A source runs when its definition says ``enabled = true`` or ``enabled_sources`` names it. Shipped
definitions are all disabled: nothing is fetched that the operator did not ask for.
Credentials are never written in a definition: ``auth.secret`` names an entry of the
``source_secrets`` setting (environment ``LEAKWATCH_SOURCE_SECRETS__<NAME>``).
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from leakwatch.errors import ConfigError
from leakwatch.settings import Settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> float:
    """Seconds from ``30``, ``"30s"``, ``"5m"``, ``"1h"`` or ``"2d"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 300, \"30s\", \"5m\" or \"1h\"")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]
    else:
        raise ValueError("expected a duration such as 300, \"30s\", \"5m\" or \"1h\"")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class AuthSpec(BaseModel):
    """A header whose value is a secret taken from settings, never from the definition."""

    model_config = ConfigDict(extra="forbid")
    secret: str
    """Name of the entry in ``source_secrets``."""
    header: str = "Authorization"
    prefix: str = ""
    """Written before the secret: ``"Bearer "``, ``"token "``..."""


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    driver: str
    description: str = ""
    notes: str = ""
    """What an operator must know before enabling it (API keys, IP whitelists, terms of use)."""
    enabled: bool = False
    interval: float = 3600.0
    proxy: str | None = None
    """A proxy for this source only: ``socks5h://127.0.0.1:9050`` reaches .onion hosts through Tor."""
    rate_limit: float | None = None
    """Minimum seconds between two requests to one host of this source."""
    timeout: float | None = None
    auth: AuthSpec | None = None
    stale_after: float | None = None
    """Degraded when no new item came for this long; by default learned from the source's history."""
    expect_new: bool = True
    """False for sources that are quiet by nature (a drop folder): never degraded for lack of news."""
    passwords: list[str] = Field(default_factory=list)
    """Tried in order on the encrypted archives and PDFs this source brings (leak sites print them
    beside the link)."""
    params: dict[str, Any] = Field(default_factory=dict)
    origin: str = Field(default="", exclude=True)
    """The file (or config key) the definition came from, for messages."""

    @field_validator("interval", "stale_after", "rate_limit", "timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if value is None:
            return None
        return parse_duration(value)

    @field_validator("proxy", mode="after")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "socks5://", "socks5h://")):
            raise ValueError("a proxy URL starts with http://, https://, socks5:// or socks5h://")
        return value

    def driver_params(self) -> BaseModel:
        """The params validated by the driver's model; ConfigError naming file and key."""
        from leakwatch.sources.registry import DRIVERS

        driver = DRIVERS.get(self.driver)
        if driver is None:
            raise ConfigError(f"{self.origin or self.name}: driver: unknown driver {self.driver!r} "
                              f"(known: {', '.join(sorted(DRIVERS))})")
        try:
            return driver.Params.model_validate(self.params)
        except ValidationError as exc:
            raise ConfigError(_validation_message(self.origin or self.name, exc, prefix="params")) from None


def _validation_message(where: str, exc: ValidationError, prefix: str = "") -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
    return f"{where}: {loc or '(top)'}: {err['msg']}"


def shipped_dir() -> Path:
    """Where the shipped definitions are: package data when installed, else the checkout's ``sources/``."""
    packaged = Path(str(resources.files("leakwatch"))) / "data" / "sources"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sources"


def user_dir(settings: Settings) -> Path:
    return settings.home / "sources.d"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _lift_params(data: dict[str, Any]) -> dict[str, Any]:
    """A driver's params may also be written at the top of a table, as users write them
    (``path = "/srv/drop"`` beside ``driver = "folder"``): they move into ``params``."""
    from leakwatch.sources.registry import DRIVERS

    driver = DRIVERS.get(data.get("driver", ""))
    if driver is None:
        return data
    flat = {k: v for k, v in data.items() if k not in SourceSpec.model_fields and k in driver.Params.model_fields}
    if not flat:
        return data
    params = dict(data.get("params") or {})
    both = sorted(set(flat) & set(params))
    if both:
        raise ValueError(f"{both[0]}: given both at the top and in params")
    return {**{k: v for k, v in data.items() if k not in flat}, "params": {**params, **flat}}


def parse_spec(data: dict[str, Any], origin: str) -> SourceSpec:
    try:
        data = _lift_params(data)
    except ValueError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    try:
        spec = SourceSpec.model_validate({**data, "origin": origin})
    except ValidationError as exc:
        raise ConfigError(_validation_message(origin, exc)) from None
    spec.driver_params()
    return spec


def load_file(path: Path) -> SourceSpec:
    data = _read_toml(path)
    data.setdefault("name", path.stem)
    return parse_spec(data, str(path))


def _load_dir(directory: Path, specs: dict[str, SourceSpec]) -> None:
    if directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            spec = load_file(path)
            specs[spec.name] = spec


def load_specs(settings: Settings) -> dict[str, SourceSpec]:
    """Every definition by name, shipped then user then inline, with ``enabled`` resolved."""
    specs: dict[str, SourceSpec] = {}
    _load_dir(shipped_dir(), specs)
    _load_dir(user_dir(settings), specs)
    config = str(settings.config_file)
    for i, inline in enumerate(settings.sources):
        where = f"{config}: sources[{i}]"
        name = inline.get("name")
        if not isinstance(name, str):
            raise ConfigError(f"{where}: name: a source table needs a name")
        if "driver" not in inline:
            base = specs.get(name)
            if base is None:
                raise ConfigError(f"{where}: driver: no definition named {name!r} to patch, and no driver")
            merged = base.model_dump(exclude={"origin"})
            merged.update(inline)
            specs[name] = parse_spec(merged, where)
        else:
            # A source written out in config.toml is one the operator wants watched: on unless
            # it says otherwise (shipped definitions stay off until named).
            specs[name] = parse_spec({"enabled": True, **inline}, where)
    unknown = [n for n in settings.enabled_sources if n not in specs]
    if unknown:
        raise ConfigError(f"{config}: enabled_sources: no source named {unknown[0]!r}")
    for name in settings.enabled_sources:
        specs[name] = specs[name].model_copy(update={"enabled": True})
    return dict(sorted(specs.items()))


def get_spec(settings: Settings, name: str) -> SourceSpec:
    specs = load_specs(settings)
    if name not in specs:
        raise ConfigError(f"sources: no source named {name!r} (known: {', '.join(specs) or 'none'})")
    return specs[name]
