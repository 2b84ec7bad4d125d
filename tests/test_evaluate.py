"""The `evaluate` command end to end, on small files, as a user runs it."""

from __future__ import annotations

import csv
import json

import pytest

from conftest import run_cli

SUMMARIES = [
    "Unit 1 failed to control speed and struck Unit 2 from behind.",
    "Unit 2 disregarded the red light and struck Unit 1.",
    "Unit 1 backed without safety into the parked Unit 2.",
    "Unit 1 changed lanes unsafely and sideswiped Unit 2.",
    "Unit 3 followed too closely and rear-ended Unit 2 on IH 35.",
    "The cyclist failed to yield and was struck by Unit 1.",
]
NARRATIVES = [f"unit 1 and unit 2 were involved on main st. {s.lower()} the driver was not injured." for s in SUMMARIES]
PLANS = [["1) failed to control speed -> rear-end collision"], [], ["1) backed without safety -> backing collision"],
         ["1) changed lane when unsafe -> sideswipe same direction"], [], []]
QUICK = ("--bootstrap_samples", "50")


def _write_csv(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _files(tmp_path):
    ids = [f"00{i:04d}" for i in range(len(SUMMARIES))]  # leading zeros: IDs are strings
    predictions = [s.replace("Unit", "unit") for s in SUMMARIES]
    predictions[1] = "=HYPERLINK(\"http://x\") unit 2 ran the light"  # a formula a spreadsheet would run
    predictions[3] = ""  # the model wrote nothing
    pred_rows = [[i, p] for i, p in zip(ids, predictions)][:-1] + [["99999", "an unmatched prediction"]]
    pred = _write_csv(tmp_path / "pred.csv", ["Crash_ID", "prediction"], pred_rows)
    ref = tmp_path / "ref.jsonl"
    ref.write_text("".join(json.dumps({"Crash_ID": i, "Narrative": n, "Summary": s, "plan_lines": p}) + "\n"
                           for i, n, s, p in zip(ids, NARRATIVES, SUMMARIES, PLANS)), encoding="utf-8")
    return pred, ref


def _per_example(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_predictions_joined_to_references_by_id(tmp_path):
    pred, ref = _files(tmp_path)
    result = run_cli("evaluate", "--predictions", str(pred), "--references", str(ref), "--output_dir", "out",
                     *QUICK, cwd=tmp_path)
    assert result.returncode == 3, result.stderr  # some rows unpaired: partial
    out = tmp_path / "out"
    results = json.loads((out / "evaluation_results.json").read_text(encoding="utf-8"))
    assert results["join"]["pairs"] == 5
    assert results["join"]["only_in_references"] == 1 and results["join"]["only_in_predictions"] == 1
    aggregates = results["aggregates"]
    for key in ("rouge1_f1", "rouge2_f1", "rougeL_f1", "bleu_4", "bertscore_f1", "similarity_mean",
                "faithfulness_unigram", "plan_coverage", "length_ratio_mean"):
        assert isinstance(aggregates[key], float), key
        assert results["confidence_intervals"][key] is not None, key
    assert 0 < aggregates["bertscore_f1"] < 1 and results["settings"]["bertscore"]["num_layers"] == 6
    assert results["counts"]["plan_coverage"] == 3  # only rows with a plan
    assert results["versions"]["sacrebleu"] and results["skipped"] == {}
    rows = _per_example(out / "evaluation_per_example.csv")
    assert [r["Crash_ID"] for r in rows] == ["000000", "000001", "000002", "000003", "000004"]
    assert rows[1]["prediction"].startswith("'=HYPERLINK")  # neutralised for spreadsheets
    assert rows[3]["prediction"] == "" and float(rows[3]["rouge1_f1"]) == 0.0
    problems = _per_example(out / "evaluation_problems.csv")
    assert {(p["Crash_ID"], p["reason"]) for p in problems} == {("000005", "only_in_references"),
                                                                ("99999", "only_in_predictions")}
    assert (out / "plots" / "metric_histograms.png").stat().st_size > 1000
    assert (out / "plots" / "length_scatter.png").stat().st_size > 1000


def test_one_file_holding_predictions_and_references(tmp_path):
    rows = [[f"id{i}", s.lower(), s] for i, s in enumerate(SUMMARIES)]
    both = _write_csv(tmp_path / "both.csv", ["Crash_ID", "best_summary", "reference_summary"], rows)
    result = run_cli("evaluate", "--predictions", str(both), "--output_dir", "out", "--no_bertscore",
                     "--no_similarity", "--no_plots", *QUICK, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "out" / "evaluation_results.json").read_text(encoding="utf-8"))
    assert results["aggregates"]["rouge1_f1"] == pytest.approx(1.0)  # lower-casing is all that differs
    assert results["aggregates"]["bertscore_f1"] is None
    assert results["skipped"]["bertscore"].startswith("turned off")
    assert not (tmp_path / "out" / "plots").exists()


def test_unavailable_bertscore_model_is_reported_skipped(tmp_path):
    pred, ref = _files(tmp_path)
    result = run_cli("evaluate", "--predictions", str(pred), "--references", str(ref), "--output_dir", "out",
                     "--bertscore_model", "no-such-org/no-such-model", "--no_similarity", "--no_plots", *QUICK,
                     cwd=tmp_path, env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 3, result.stderr
    results = json.loads((tmp_path / "out" / "evaluation_results.json").read_text(encoding="utf-8"))
    assert "cannot load model 'no-such-org/no-such-model'" in results["skipped"]["bertscore"]
    assert results["aggregates"]["bertscore_f1"] is None


def test_user_mistakes_get_one_clear_line(tmp_path):
    nothing = run_cli("evaluate", cwd=tmp_path)
    assert nothing.returncode == 2 and "nothing to evaluate" in nothing.stderr
    no_ids = _write_csv(tmp_path / "noid.csv", ["prediction"], [["a"]])
    _, ref = _files(tmp_path)
    result = run_cli("evaluate", "--predictions", str(no_ids), "--references", str(ref), cwd=tmp_path)
    assert result.returncode == 2 and "no ID column" in result.stderr and "Traceback" not in result.stderr
    half = run_cli("evaluate", "--model", "somewhere", cwd=tmp_path)
    assert half.returncode == 2 and "--data" in half.stderr


def test_model_generates_then_scores(tmp_path, tiny_bart):
    rows = [[f"c{i}", n, s, json.dumps(p)] for i, (n, s, p) in enumerate(zip(NARRATIVES, SUMMARIES, PLANS))]
    rows.append(["c-empty", "unit 1 struck a pole.", "", "[]"])  # no reference: reported, not scored
    data = _write_csv(tmp_path / "data.csv", ["Crash_ID", "Narrative", "Summary", "plan_lines"], rows)
    result = run_cli("evaluate", "--model", str(tiny_bart), "--data", str(data), "--output_dir", "out",
                     "--max_new_tokens", "8", "--num_beams", "1", "--no_bertscore", "--no_similarity", *QUICK,
                     cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    out = tmp_path / "out"
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    # every row is summarized, as `run` would; the one without a reference is not scored
    assert [p["Crash_ID"] for p in predictions] == [f"c{i}" for i in range(len(SUMMARIES))] + ["c-empty"]
    results = json.loads((out / "evaluation_results.json").read_text(encoding="utf-8"))
    assert results["generation"]["generation_config"]["max_new_tokens"] == 8
    assert results["join"]["pairs"] == len(SUMMARIES)
    assert isinstance(results["aggregates"]["rougeL_f1"], float)
    assert _per_example(out / "evaluation_problems.csv")[0]["reason"] == "empty_reference"


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_evaluate_with_a_model_chooses_the_summaries_run_chooses(tmp_path, tiny_bart, backend):
    """One generation path: the same rows, settings and --seed give `run`'s best summaries, sampled
    candidates and reranking included, on either backend."""
    rows = [[f"c{i}", n, s, json.dumps(p)] for i, (n, s, p) in enumerate(zip(NARRATIVES, SUMMARIES, PLANS))]
    data = _write_csv(tmp_path / "data.csv", ["Crash_ID", "Narrative", "Summary", "plan_lines"], rows)
    generation = ("--num_beams", "2", "--num_candidates", "2", "--num_samples", "3", "--max_new_tokens", "8",
                  "--seed", "11", "--backend", backend)
    ran = run_cli("run", "--csv", str(data), "--model", str(tiny_bart), "--out_dir", "run", *generation,
                  cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    evaluated = run_cli("evaluate", "--model", str(tiny_bart), "--data", str(data), "--output_dir", "eval",
                        *generation, "--no_bertscore", "--no_similarity", *QUICK, cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    by_run = {row["Crash_ID"]: row for row in map(json.loads, (tmp_path / "run" / "crash_summaries.jsonl")
                                                  .read_text(encoding="utf-8").splitlines())}
    by_evaluate = [json.loads(line) for line in (tmp_path / "eval" / "predictions.jsonl")
                   .read_text(encoding="utf-8").splitlines()]
    assert [p["Crash_ID"] for p in by_evaluate] == [f"c{i}" for i in range(len(SUMMARIES))]
    assert all(p["best_summary"] == by_run[p["Crash_ID"]]["best_summary"] for p in by_evaluate)
    assert all(p["plan_lines"] == by_run[p["Crash_ID"]]["plan_lines"] for p in by_evaluate)
    assert len({p["best_summary"] for p in by_evaluate}) > 1  # not one constant output
    report = json.loads((tmp_path / "eval" / "evaluation_results.json").read_text(encoding="utf-8"))
    assert report["generation"]["num_samples"] == 3 and report["generation"]["sampling"]["seed"] == 11
    run_report = json.loads((tmp_path / "run" / "run_report.json").read_text(encoding="utf-8"))
    assert report["generation"]["backend"] == run_report["model"]["backend"]
