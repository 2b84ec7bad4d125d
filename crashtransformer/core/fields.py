"""How a config field is declared (`arg`, `group`) and walked (`flat_fields`): one declaration
gives the default, the help line of its flag, its choices and, for a number, its valid range;
core.config resolves and checks values, crashtransformer.cli makes the flags."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Iterator


@dataclasses.dataclass(frozen=True)
class Range:
    """The valid values of a numeric field; an open end excludes its bound."""

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False

    def contains(self, value: float) -> bool:
        if value != value:  # nan compares false with everything: it would pass every bound
            return False
        if self.min is not None and (value <= self.min if self.min_open else value < self.min):
            return False
        return self.max is None or (value < self.max if self.max_open else value <= self.max)

    def describe(self) -> str:
        """In click's notation (`x>=1`, `0<x<=1`), so flag and config-file errors read alike."""
        low = "" if self.min is None else f"{_number(self.min)}{'<' if self.min_open else '<='}"
        high = "" if self.max is None else f"{'<' if self.max_open else '<='}{_number(self.max)}"
        if not high:
            return f"x{'>' if self.min_open else '>='}{_number(self.min)}"
        return f"{low}x{high}"


def _number(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def arg(default: Any, help: str, choices: tuple[str, ...] | None = None, *, min: float | None = None,
        max: float | None = None, min_open: bool = False, max_open: bool = False, **extra: Any) -> Any:
    """A config field: its default, the help line of its flag, optional choices, and for a number
    the range it must lie in (every int and float field declares one; tests check)."""
    metadata = {"help": help, "choices": choices, **extra}
    if min is not None or max is not None:
        metadata["range"] = Range(min, max, min_open, max_open)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def group(cls: type) -> Any:
    """A settings group inside a command config; its fields are flags of the command."""
    return dataclasses.field(default_factory=cls, metadata={"group": True})


def base_type(annotation: Any) -> tuple[Any, bool]:
    """(inner type, is_list) for `int`, `int | None`, `list[str]`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return base_type(inner[0])
    if origin in (list, tuple):
        return typing.get_args(annotation)[0], True
    return annotation, False


@dataclasses.dataclass(frozen=True)
class FlatField:
    """One flag of a command: the field, its type, and the group it sits in (None: the command's own)."""

    field: dataclasses.Field
    annotation: Any
    group: str | None

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def default(self) -> Any:
        f = self.field
        return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def flat_fields(cls: type) -> Iterator[FlatField]:
    """Every field of a command config, the fields of its groups in their place."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.metadata.get("group"):
            inner = typing.get_type_hints(hints[field.name])
            for sub in dataclasses.fields(hints[field.name]):
                yield FlatField(sub, inner[sub.name], field.name)
        else:
            yield FlatField(field, hints[field.name], None)


def check_unique(cls: type) -> dict[str, FlatField]:
    fields: dict[str, FlatField] = {}
    for flat in flat_fields(cls):
        if flat.name in fields:
            raise TypeError(f"{cls.__name__}: field {flat.name!r} is declared twice")
        fields[flat.name] = flat
    return fields
