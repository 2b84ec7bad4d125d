"""Nothing unsafe runs: pickle weights and remote code stay off unless asked; CSV outputs cannot
run as spreadsheet formulas; narratives (personal data) stay out of the logs.

Also covered elsewhere: tests/test_foundation.py (pickle-only directory refused by locate_model),
tests/test_records.py (safe_cell round trip, plan_lines never eval'd)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from faults.conftest import FAST, invoke, read_csv
from faults.corpus import HEADER, csv_text

MARKER = "Quetzal-Zanzibar"  # a word in every narrative that no log line could hold by chance
FORMULA_START = ("=", "+", "-", "@")
FORMULA_ROWS = [  # Crash_ID, Narrative, Summary, prediction: each field starts like a formula
    ['=HYPERLINK("http://example.com","open")', f"=1+1 Unit 1 {MARKER} failed to control speed and struck Unit 2.",
     "+Unit 1 rear-ended Unit 2.", "-Unit 1 hit Unit 2."],
    ["+C2", f"-- Unit 2 {MARKER} failed to yield the right of way to Unit 1 at Oak Ave.",
     "@SUM(1,2) Unit 2 failed to yield.", "=cmd|' /C calc'!A0"],
    ["-C3", f"@Unit 3 {MARKER} backed into Unit 4 in a parking lot.", "-Unit 3 backed into Unit 4.", "@Unit 3"],
    ['=HYPERLINK("http://example.com","open")', f"=2+2 Unit 5 {MARKER} struck a pole.", "=Unit 5 hit a pole.", "x"],
    ["@C5", "   ", "+empty", "y"],
]


def _formula_cells(path: Path) -> list[str]:
    """Cells a spreadsheet would run: starting with = + - @ and not a plain number."""
    with open(path, encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    risky = []
    for cell in cells:
        if cell.startswith(FORMULA_START):
            try:
                float(cell)
            except ValueError:
                risky.append(cell)
    return risky


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, good_model) -> dict:
    """prepare-data, run and evaluate on the formula file, console at INFO (the log file is DEBUG)."""
    cwd = tmp_path_factory.mktemp("safety")
    data = cwd / "formulas.csv"
    data.write_text(csv_text(FORMULA_ROWS, HEADER), encoding="utf-8")
    return {
        "cwd": cwd,
        "prepare-data": invoke("prepare-data", "--input", str(data), "--output", str(cwd / "prep" / "train.csv"),
                               cwd=cwd / "p", log_level="INFO"),
        "run": invoke("run", "--csv", str(data), "--model", str(good_model), "--out_dir", str(cwd / "run"), *FAST,
                      cwd=cwd / "r", log_level="INFO"),
        "evaluate": invoke("evaluate", "--predictions", str(data), "--output_dir", str(cwd / "eval"), "--no_bertscore",
                           "--no_similarity", "--no_plots", "--bootstrap_samples", "0", cwd=cwd / "e", log_level="INFO"),
    }


@pytest.mark.parametrize("command, files", [
    ("prepare-data", ("prep/train.csv", "prep/train.rejects.csv")),
    ("run", ("run/rejects.csv", "run/summaries_metrics.csv")),
    ("evaluate", ("eval/evaluation_per_example.csv", "eval/evaluation_problems.csv")),
])
def test_csv_outputs_neutralise_formulas(outputs, command, files):
    assert _formula_cells(outputs["cwd"] / "formulas.csv"), "the check must see the raw input's formulas"
    assert outputs[command].exit_code == 3, outputs[command].stderr  # the repeated ID / blank row is rejected
    for name in files:
        path = outputs["cwd"] / name
        assert _formula_cells(path) == [], name
        assert "'=HYPERLINK" in path.read_text(encoding="utf-8"), f"{name}: the formula input never reached it"


@pytest.mark.parametrize("command", ["prepare-data", "run", "evaluate"])
def test_narratives_stay_out_of_the_console_and_the_log_file(outputs, command):
    """The issue asks for INFO; the log file holds DEBUG too, and the narratives are not there either."""
    result = outputs[command]
    log_text = result.log_text()
    assert "DEBUG" in log_text, "the log file should hold the DEBUG lines this check covers"
    if command == "run":  # the narratives did go through: they are in the artifacts, just not the log
        assert MARKER in (outputs["cwd"] / "run" / "crash_graphs.jsonl").read_text(encoding="utf-8")
    assert MARKER not in log_text
    assert MARKER not in result.stderr


def test_pickle_weights_need_allow_pickle(tmp_path, good_model):
    import torch
    from safetensors.torch import load_file

    pickled = tmp_path / "pickled"
    shutil.copytree(good_model, pickled)
    weights = load_file(pickled / "model.safetensors")
    (pickled / "model.safetensors").unlink()
    torch.save(weights, pickled / "pytorch_model.bin")
    data = tmp_path / "crashes.csv"
    data.write_text(csv_text(FORMULA_ROWS[1:3], HEADER), encoding="utf-8")
    args = ("run", "--csv", str(data), "--model", str(pickled), *FAST)

    refused = invoke(*args, "--out_dir", str(tmp_path / "refused"), cwd=tmp_path)
    assert refused.exit_code == 2 and "--allow_pickle" in refused.console_lines()[-1]
    assert not (tmp_path / "refused" / "crash_summaries.jsonl").exists()
    allowed = invoke(*args, "--out_dir", str(tmp_path / "allowed"), "--allow_pickle", cwd=tmp_path)
    assert allowed.exit_code == 0, allowed.stderr
    assert len(read_csv(tmp_path / "allowed" / "summaries_metrics.csv")) == 2


def _remote_code_model(directory: Path, model: Path, marker: Path) -> Path:
    """A model whose config asks for code shipped beside it; importing that code leaves `marker`."""
    target = directory / "remote-code-model"
    shutil.copytree(model, target)
    config = json.loads((target / "config.json").read_text())
    config.update(model_type="custom-bart", auto_map={"AutoConfig": "custom.CustomConfig",
                                                      "AutoModelForSeq2SeqLM": "custom.CustomModel"})
    (target / "config.json").write_text(json.dumps(config))
    (target / "custom.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('code ran')\n"
        "from transformers import BartConfig, BartForConditionalGeneration\n"
        "class CustomConfig(BartConfig):\n    model_type = 'custom-bart'\n"
        "class CustomModel(BartForConditionalGeneration):\n    config_class = CustomConfig\n")
    return target


def test_remote_code_is_never_run_unless_asked(tmp_path, good_model):
    marker = tmp_path / "code-ran"
    model = _remote_code_model(tmp_path, good_model, marker)
    data = tmp_path / "crashes.csv"
    data.write_text(csv_text(FORMULA_ROWS[1:3], HEADER), encoding="utf-8")
    attempts = {
        "run": ("run", "--csv", str(data), "--model", str(model), "--out_dir", str(tmp_path / "run"), *FAST),
        "train": ("train", "--training_data", str(data), "--model_name", str(model), "--output_dir",
                  str(tmp_path / "train"), "--report_to", "none"),
        "evaluate": ("evaluate", "--model", str(model), "--data", str(data), "--output_dir", str(tmp_path / "eval"),
                     "--no_bertscore", "--no_similarity"),
    }
    for command, args in attempts.items():
        result = invoke(*args, cwd=tmp_path)
        assert result.exit_code == 2, (command, result.stderr)
        assert "--trust_remote_code" in result.console_lines()[-1], command
        assert not marker.exists(), f"{command} ran the model's own code without --trust_remote_code"
