"""The house: module sizes, the package list, the flags generated from the configs, the wheel.

The import contract itself (layers, click only in the CLI, no cycles) is pyproject.toml's
[tool.importlinter], run by `lint-imports` in `make test`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest

from conftest import REPO
from crashtransformer.cli import cli
from crashtransformer.core.config import TrainConfig, resolve_config

MAX_MODULE_LINES = 400


def _modules() -> list[Path]:
    return sorted((REPO / "crashtransformer").rglob("*.py"))


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules: {long}"


def test_pyproject_lists_every_subpackage():
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "crashtransformer").rglob("__init__.py")}
    assert listed == found | {"crashtransformer.default_model"}


def _options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and p.name not in ("help", "config_file")]


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_flag_keeps_its_dashed_alias_and_every_boolean_has_an_off_switch(name):
    for option in _options(cli.commands[name]):
        spellings = set(option.opts) | set(option.secondary_opts)
        for spelling in list(spellings):
            assert spelling.replace("_", "-") in spellings, f"{name} {spelling}: no dashed alias"
        if option.is_flag:
            assert option.secondary_opts, f"{name} --{option.name}: no off switch"


def test_evaluate_has_the_safe_loading_flags_run_has():
    def loading(command: str) -> set[str]:
        return {o.name for o in _options(cli.commands[command]) if o.name in ("trust_remote_code", "allow_pickle")}

    assert loading("evaluate") == loading("run") == {"trust_remote_code", "allow_pickle"}


def _resolved(tmp_path: Path, *flags: str) -> TrainConfig:
    preset = tmp_path / "preset.yaml"
    preset.write_text("fp16: true\ngroup_by_length: true\nno_plan: true\nnum_beams: 2\n")
    context = cli.commands["train"].make_context("train", ["--config", str(preset), *flags])
    params = dict(context.params)
    return resolve_config(TrainConfig, params.pop("config_file"), params)


def test_a_presets_true_is_switched_off_from_the_command_line(tmp_path):
    preset_only = _resolved(tmp_path)
    assert preset_only.fp16 and preset_only.group_by_length and preset_only.model_input.no_plan
    switched = _resolved(tmp_path, "--no-fp16", "--no_group_by_length", "--plan", "--num-beams", "3")
    assert not switched.fp16 and not switched.group_by_length and not switched.model_input.no_plan
    assert switched.num_beams == 3


def test_the_effective_config_is_written_flat_and_reads_back_as_a_preset(tmp_path):
    from crashtransformer.core.config import RunConfig, build_config, save_config

    cfg = build_config(RunConfig, {"num_beams": 6, "trust_remote_code": True, "max_length": 128})
    saved = save_config(cfg, tmp_path, "run_config.json")
    import json

    flat = json.loads(saved.read_text())
    assert flat["num_beams"] == 6 and flat["trust_remote_code"] is True and "generation" not in flat
    preset = tmp_path / "again.yaml"
    preset.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in flat.items()))
    assert resolve_config(RunConfig, str(preset), {}) == cfg


def test_a_wheel_carries_the_shipped_default_model(tmp_path):
    """`pip install .` (not editable) gives `run` its default model from any directory."""
    if not (REPO / "fine_tuned_models" / "crashtransformer-default" / "model.safetensors").is_file():
        pytest.skip("the shipped default model is not in this checkout")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("crashtransformer-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
        assert f"crashtransformer/default_model/{name}" in names
    assert "crashtransformer/infer/summarizer.py" in names and "crashtransformer/core/config.py" in names
