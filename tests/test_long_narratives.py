"""A narrative over --max_chars through the commands: `run` and `evaluate --model` cut it at a word
boundary and summarize it (the model reads only its start anyway); prepare-data rejects it, since
a cut training narrative under its whole summary teaches the model to invent."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from conftest import run_cli
from crashtransformer.run.artifacts import REJECTS, SUMMARIES, read_csv_rows

FAST = ("--num_beams", "1", "--num_candidates", "1", "--num_samples", "0", "--max_new_tokens", "8")
NARRATIVE = "Unit 1 failed to control speed and struck Unit 2 from behind on Main St."
LONG_NARRATIVE = " ".join([NARRATIVE] * 700)  # about 50,000 characters: merged records, or a paste gone wrong


def _crash_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Crash_ID", "Narrative", "Summary"])
        writer.writerows(rows)
    return path


def test_run_cuts_a_long_narrative_and_summarizes_it(tmp_path, tiny_bart):
    data = _crash_csv(tmp_path / "crashes.csv", [("LONG-1", LONG_NARRATIVE, ""), ("SHORT-1", NARRATIVE, "")])
    result = run_cli("run", "--csv", str(data), "--model", str(tiny_bart), "--out_dir", "out", *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {json.loads(line)["Crash_ID"]: json.loads(line) for line in (tmp_path / "out" / SUMMARIES).read_text().splitlines()}
    assert sorted(rows) == ["LONG-1", "SHORT-1"]
    assert rows["LONG-1"]["narrative_original_chars"] > 20_000  # the row says it was cut, and from what
    assert rows["SHORT-1"]["narrative_original_chars"] is None
    warnings = [line for line in result.stderr.splitlines() if "longer than --max_chars" in line]
    assert len(warnings) == 1 and "1 narrative(s) longer than --max_chars 20000 were cut" in warnings[0]
    assert not read_csv_rows(tmp_path / "out" / REJECTS)


def test_evaluate_with_a_model_cuts_a_long_narrative_and_scores_it(tmp_path, tiny_bart):
    data = _crash_csv(tmp_path / "data.csv", [("LONG-1", LONG_NARRATIVE, NARRATIVE), ("SHORT-1", NARRATIVE, NARRATIVE)])
    result = run_cli("evaluate", "--model", str(tiny_bart), "--data", str(data), "--output_dir", "eval", *FAST,
                     "--no_bertscore", "--no_similarity", "--bootstrap_samples", "0", "--no_plots", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    predictions = (tmp_path / "eval" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["Crash_ID"] for line in predictions] == ["LONG-1", "SHORT-1"]
    assert sum("longer than --max_chars" in line for line in result.stderr.splitlines()) == 1


def test_prepare_data_still_rejects_a_long_training_narrative(tmp_path):
    data = _crash_csv(tmp_path / "raw.csv", [("LONG-1", LONG_NARRATIVE, NARRATIVE), ("SHORT-1", NARRATIVE, NARRATIVE)])
    result = run_cli("prepare-data", "--input", str(data), "--output", "train.csv", "--no_extract_plans", cwd=tmp_path)
    assert result.returncode == 3, result.stderr  # finished, with a rejected row
    rejects = list(csv.DictReader((tmp_path / "train.rejects.csv").open(encoding="utf-8")))
    assert [(r["Crash_ID"], r["reason"]) for r in rejects] == [("LONG-1", "too_long")]
