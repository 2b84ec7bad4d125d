"""Every entry of the bad-input corpus through every command it applies to (corpus.py).

For each: a one-line `error:` (exit 2) or reject rows with a reason (exit 3) or a clean pass (exit 0);
never a traceback, never an internal error; rows in = rows done + rows rejected, no Crash_ID twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faults.conftest import FAST, invoke, read_csv, read_jsonl_strict
from faults.corpus import EVALUATE, MODEL_MAKERS, PREPARE, RUN, TRAIN, BadInput, Made, cases, good_csv

# Tiny settings for `train`: every train case must stop before any training step.
TRAIN_FLAGS = ("--num_epochs", "1", "--max_steps", "1", "--report_to", "none", "--no_model_metrics")
EVALUATE_FLAGS = ("--no_bertscore", "--no_similarity", "--no_plots", "--bootstrap_samples", "0")
# Known failures outside this suite's files, reported to their owners; strict: fixing them flips the test.
KNOWN_BUGS: dict = {  # (input name, command) -> why it still fails; each entry is a strict xfail
}


def _make(entry: BadInput, directory: Path, model: Path) -> Made:
    made = entry.make(directory, model) if entry.make in MODEL_MAKERS else entry.make(directory)
    if made.data is None:
        made.data = good_csv(directory, "good.csv")
        made.rows = 2
    return made


def _input_flag(command: str, data: Path) -> str:
    suffix = data.suffix.lower()
    if command == PREPARE:
        return "--xlsx" if suffix == ".xlsx" else "--input"
    return {".xlsx": "--xlsx", ".jsonl": "--jsonl"}.get(suffix, "--csv")


def _argv(command: str, made: Made, out: Path, model: Path) -> list[str]:
    model = str(made.model or model)
    if command == PREPARE:
        args = [PREPARE, _input_flag(command, made.data), str(made.data), "--output", str(out / "train.csv")]
    elif command == RUN:
        args = [RUN, _input_flag(command, made.data), str(made.data), "--model", model, "--out_dir", str(out), *FAST]
    elif command == EVALUATE:
        source = ["--model", model, "--data", str(made.data)] if made.model else ["--predictions", str(made.data)]
        args = [EVALUATE, *source, "--output_dir", str(out), *EVALUATE_FLAGS]
    else:
        args = [TRAIN, "--training_data", str(made.data), "--model_name", model, "--output_dir", str(out),
                *TRAIN_FLAGS]
    if made.config:
        args += ["--config", str(made.config)]
    return args + list(made.flags)


# ----------------------------------------------------------------------------- accounting per command


def _prepare_accounts(out: Path, made: Made) -> tuple[int, list[str], list[str]]:
    """(rows accounted for, reject reasons, Crash_IDs written)."""
    report = json.loads((out / "train.report.json").read_text())
    rejects = read_csv(out / "train.rejects.csv")
    written = read_csv(out / "train.csv")
    assert report["balanced"] and report["rows_in"] == report["rows_out"] + report["rows_rejected"]
    assert len(rejects) == report["rows_rejected"] and len(written) == report["rows_out"]
    if made.text:
        assert made.text in (out / "train.csv").read_text(encoding="utf-8")
    return report["rows_in"], [r["reason"] for r in rejects], [r["Crash_ID"] for r in written]


def _run_accounts(out: Path, made: Made) -> tuple[int, list[str], list[str]]:
    counts = json.loads((out / "run_report.json").read_text())["counts"]
    summaries = read_jsonl_strict(out / "crash_summaries.jsonl")
    graphs = read_jsonl_strict(out / "crash_graphs.jsonl")
    rejects = read_csv(out / "rejects.csv")
    assert counts["rows_read"] == counts["summarized"] + counts["rejected"]
    assert len(summaries) == counts["summarized"] and len(rejects) == counts["rejected"]
    assert sorted(g["Crash_ID"] for g in graphs) == sorted(s["Crash_ID"] for s in summaries)
    return counts["rows_read"], [r["reason"] for r in rejects], [s["Crash_ID"] for s in summaries]


def _evaluate_accounts(out: Path, made: Made) -> tuple[int, list[str], list[str]]:
    scored = read_csv(out / "evaluation_per_example.csv")
    problems = read_csv(out / "evaluation_problems.csv")
    # a malformed plan is reported and its row still scored, without the plan
    unscored = [p for p in problems if p["reason"] != "bad_plan_lines"]
    return len(scored) + len(unscored), [p["reason"] for p in problems], [r["Crash_ID"] for r in scored]


ACCOUNTS = {PREPARE: _prepare_accounts, RUN: _run_accounts, EVALUATE: _evaluate_accounts}


# ----------------------------------------------------------------------------- the test


@pytest.mark.parametrize("entry, command", cases(), ids=[f"{e.name}-{c}" for e, c in cases()])
def test_bad_input(entry: BadInput, command: str, tmp_path, good_model, request):
    if (entry.name, command) in KNOWN_BUGS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_BUGS[entry.name, command], strict=True))
    expected = entry.outcomes[command]
    made = _make(entry, tmp_path, good_model)
    out = made.out or tmp_path / "out"
    result = invoke(*_argv(command, made, out, good_model), cwd=tmp_path)

    assert "Traceback" not in result.stderr + result.stdout
    assert result.exit_code == expected.exit_code, result.stderr[-2000:]
    if expected.exit_code == 2:
        assert result.console_lines() == [result.console_lines()[-1]], result.stderr  # one line, nothing else
        message = result.console_lines()[-1]
        assert message.startswith("error: ") and expected.says in message, message
        return
    rows, reasons, done_ids = ACCOUNTS[command](out, made)
    assert rows == made.rows, "rows in != rows done + rows rejected"
    assert len(done_ids) == len(set(done_ids)), "a Crash_ID was done twice"
    if expected.exit_code == 3:
        assert expected.says in reasons, reasons
    else:
        assert not reasons and len(done_ids) == made.rows
        for crash_id in made.ids:
            assert crash_id in done_ids, f"{crash_id!r} did not come out as written: {done_ids}"
