"""Dataset schemas: which column holds the reference and which kind each column is (TOML)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from leakwatch.detection.normalise import ALL_KINDS, IDENTIFIER_KINDS
from leakwatch.errors import InputError

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
REF_FORBIDDEN_KINDS = ("nir", "email", "phone", "iban", "card")
"""Kinds a ref column must not have: the ref is stored and printed in clear."""


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    ref: str
    description: str = ""
    fields: dict[str, str] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.fullmatch(v):
            raise ValueError("dataset name must be lower case letters, digits, '_', '.', '-'")
        return v

    @field_validator("fields")
    @classmethod
    def _kinds(cls, v: dict[str, str]) -> dict[str, str]:
        for column, kind in v.items():
            if kind not in ALL_KINDS:
                raise ValueError(f"column {column!r}: unknown kind {kind!r} (known: {', '.join(ALL_KINDS)})")
        return v

    @model_validator(mode="after")
    def _ref_is_no_identifier(self) -> Schema:
        kind = self.fields.get(self.ref)
        if kind in REF_FORBIDDEN_KINDS:
            raise ValueError(f"the ref column {self.ref!r} is of kind {kind!r}: refs are stored and printed in "
                             "clear, so the ref must be an internal number, never an identifier")
        return self

    @model_validator(mode="after")
    def _useful(self) -> Schema:
        kinds = set(self.fields.values())
        if not kinds & set(IDENTIFIER_KINDS) and not {"last_name", "first_name", "date"} <= kinds:
            raise ValueError("a schema needs an identifier kind, or last_name + first_name + date")
        return self

    @property
    def kinds(self) -> list[str]:
        return sorted(set(self.fields.values()))


def load_schema(path: Path) -> Schema:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read schema: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: invalid TOML: {exc}") from None
    try:
        return Schema.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "schema"
        raise InputError(f"{path}: {where}: {err['msg']}") from None
