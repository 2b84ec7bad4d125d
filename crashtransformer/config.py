"""Typed configs: one dataclass per command; YAML presets (configs/); CLI flags win.

Each config field is declared once, with its default and help text, and becomes a click
option (`--num_epochs`, also `--num-epochs`) through `config_options`. Resolution order:
dataclass default < `--config FILE.yaml` < flags given on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from crashtransformer.errors import UserError

C = TypeVar("C")


def arg(default: Any, help: str, choices: tuple[str, ...] | None = None, **extra: Any) -> Any:
    """A config field: its default, the help line of its flag, and optional choices."""
    metadata = {"help": help, "choices": choices, **extra}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


# ----------------------------------------------------------------------------- types


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(inner type, is_list) for `int`, `int | None`, `list[str]`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base_type(inner[0])
    if origin in (list, tuple):
        return typing.get_args(annotation)[0], True
    return annotation, False


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check/convert one YAML value to the field's type; a clear error otherwise."""
    if value is None:
        return None
    base, is_list = _base_type(annotation)
    if is_list:
        items = value if isinstance(value, (list, tuple)) else [value]
        return [_coerce(item, base, where) for item in items]
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if base is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if base is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: expected {getattr(base, '__name__', base)}, got {value!r}") from None
    return value


# ----------------------------------------------------------------------------- click


def _click_option(field: dataclasses.Field, annotation: Any):
    base, is_list = _base_type(annotation)
    names = [f"--{field.name}"]
    if "_" in field.name:
        names.append(f"--{field.name.replace('_', '-')}")
    meta = field.metadata
    default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
    help_text = meta.get("help", "")
    if default not in (None, "", [], False):
        help_text += f"  [default: {default}]"
    kwargs: dict[str, Any] = {"default": None, "help": help_text}
    if base is bool:
        kwargs["is_flag"] = True
        if default is True:  # a flag that is on by default needs an explicit off switch
            names = [f"{names[0]}/--no_{field.name}"]
    elif meta.get("choices"):
        kwargs["type"] = click.Choice(meta["choices"], case_sensitive=False)
    else:
        kwargs["type"] = {int: int, float: float}.get(base, str)
    if is_list:
        kwargs["multiple"] = True
    return click.option(*names, field.name, **kwargs)


def config_options(cls: type):
    """Decorator: one click option per field of `cls`, plus `--config FILE.yaml`."""
    hints = _field_types(cls)

    def decorate(command):
        for field in reversed(dataclasses.fields(cls)):
            if field.metadata.get("cli", True):
                command = _click_option(field, hints[field.name])(command)
        return click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False),
            default=None,
            help="YAML file of defaults for this command (see configs/); flags override it.",
        )(command)

    return decorate


# ----------------------------------------------------------------------------- resolve


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"config file not found: {file}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{file}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{file}: expected a mapping of option names to values")
    return data


def resolve_config(cls: type[C], config_file: str | None = None, overrides: dict | None = None) -> C:
    """Defaults < YAML file < explicit overrides (None and empty tuples mean 'not given')."""
    hints = _field_types(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    if config_file:
        for key, value in load_yaml(config_file).items():
            key = str(key).replace("-", "_")
            if key not in known:
                raise UserError(
                    f"{config_file}: unknown option '{key}'; valid options: {', '.join(sorted(known))}"
                )
            values[key] = _coerce(value, hints[key], f"{config_file}: option '{key}'")
    for key, value in (overrides or {}).items():
        if value is None or value == ():
            continue
        values[key] = list(value) if isinstance(value, tuple) else value
    _check_choices(cls, values)
    return cls(**values)


def _check_choices(cls: type, values: dict[str, Any]) -> None:
    for field in dataclasses.fields(cls):
        choices = field.metadata.get("choices")
        if choices and field.name in values and values[field.name] is not None:
            value = str(values[field.name]).lower()
            if value not in choices:
                raise UserError(f"option '{field.name}': {values[field.name]!r} is not one of {', '.join(choices)}")
            values[field.name] = value


def save_config(config: Any, directory: str | os.PathLike, name: str) -> Path:
    """Write the effective configuration next to the command's outputs."""
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(config), indent=2, default=str) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- configs


@dataclasses.dataclass
class InitModelConfig:
    """`init-model`: a new small seq2seq model with a tokenizer trained on your corpus."""

    corpus: list[str] = arg([], "Text to train the tokenizer on: CSV/JSONL (narrative and summary columns) or TXT; repeatable.")
    output: str = arg("", "Directory to write the model to.")
    arch: str = arg("bart", "Model family.", choices=("bart", "t5", "pegasus"))
    size: str = arg("tiny", "Preset size (see crashtransformer/modeling.py).", choices=("tiny", "small", "base-like"))
    vocab_size: int | None = arg(None, "Tokenizer vocabulary size (default: chosen by --size).")
    text_column: str | None = arg(None, "Column holding narratives in a CSV/JSONL corpus (default: auto-detect).")
    max_corpus_rows: int = arg(200_000, "Read at most this many rows/lines of the corpus.")
    seed: int = arg(42, "Random seed for the weight initialisation.")
