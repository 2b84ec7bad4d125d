"""prepare-data end to end: sources, rejects, duplicates, honest splits, report, CLI behaviour."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import run_cli, shared_file
from crashtransformer.core.config import PrepareDataConfig
from crashtransformer.core.errors import EXIT_OK, EXIT_PARTIAL, UserError
from crashtransformer.prepare.command import prepare_data
from crashtransformer.data.records import read_training_file
from crashtransformer.data.splitting import DuplicateFinder

STREETS = ["Main St", "Oak Ave", "Elm St", "Pine Rd", "Cedar Ln", "Birch Blvd", "Maple Dr", "Walnut St"]
ACTIONS = ["failed to control speed and struck", "failed to yield the right of way to",
           "disregarded the red light and hit", "changed lanes unsafely into", "backed without safety into"]


def crash_rows(count: int) -> list[dict[str, str]]:
    """Distinct narratives (several sentences, so near-copies are recognisable)."""
    rows = []
    for i in range(count):
        street, action = STREETS[i % len(STREETS)], ACTIONS[(i // len(STREETS)) % len(ACTIONS)]
        narrative = (f"Unit {i % 3 + 1} was traveling {['north', 'south', 'east', 'west'][i % 4]} in the {100 * i + 100} "
                     f"block of {street} at {i % 24} hundred hours. Unit {i % 3 + 1} {action} Unit {i % 3 + 2} near "
                     f"marker {i * 7}. Case note {i * 13} records weather {['clear', 'rain', 'fog'][i % 3]} "
                     f"and {['daylight', 'dark', 'dusk'][i % 3]} conditions with {i % 5} witnesses.")
        rows.append({"Crash_ID": f"{i:05d}", "Narrative": narrative, "summary": f"Summary {i}.",
                     "Crash_Severity": ["Not Injured", "Fatal"][i % 2]})
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def config(**values) -> PrepareDataConfig:
    return PrepareDataConfig(**values)


def test_synthetic_csv_and_jsonl_are_training_files(tmp_path):
    for name in ("train.csv", "train.jsonl"):
        result = prepare_data(config(source="synthetic", num_examples=120, seed=3, output=str(tmp_path / name)))
        report = result.report
        assert result.exit_code == EXIT_OK and report["rows_in"] == report["rows_out"] == 120 and report["balanced"]
        assert report["diversity"]["distinct_narrative_ratio"] > 0.99
        assert report["plans"]["extracted"] == 0  # synthetic plans are ground truth, never re-extracted
        records = read_training_file(result.outputs["train"])
        assert len(records) == 120 and records[0].summary and "Crash_Severity" in records[0].metadata
        assert json.loads((tmp_path / name.replace(name.split(".")[-1], "report.json")).read_text())["rows_out"] == 120
    first = (tmp_path / "train.csv").read_text()
    prepare_data(config(source="synthetic", num_examples=120, seed=3, output=str(tmp_path / "again.csv")))
    assert (tmp_path / "again.csv").read_text() == first  # deterministic for a seed


def test_csv_with_duplicates_splits_honestly(tmp_path):
    rows = crash_rows(200)
    copies = []
    for i in range(0, 60, 3):  # 20 exact copies and 20 near copies with one word changed
        copies.append({**rows[i], "Crash_ID": f"dup{i}"})
        copies.append({**rows[i + 1], "Crash_ID": f"near{i}",
                       "Narrative": rows[i + 1]["Narrative"].replace("witnesses", "bystanders")})
    source = write_csv(tmp_path / "export.csv", rows + copies + [{**rows[5], "Narrative": "   "}])
    out = tmp_path / "data.jsonl"
    result = prepare_data(config(source="csv", input=str(source), output=str(out), validation_split=0.1,
                                 test_split=0.2, label_column="crash_severity", extract_plans=False))
    report = result.report
    assert report["rows_in"] == 241 and report["balanced"] and result.exit_code == EXIT_PARTIAL
    assert report["rejects_by_reason"] == {"empty_narrative": 1}
    assert report["duplicates"]["exact_duplicate_rows"] == 20 and report["duplicates"]["near_duplicate_rows"] == 20
    assert report["duplicates"]["duplicate_pairs_across_splits"] == 0
    assert report["label_balance"]["all"] == {"Not Injured": 120, "Fatal": 120}
    splits = {name: read_training_file(path) for name, path in result.outputs.items()}
    assert {n: len(r) for n, r in splits.items()} == {n: v["rows"] for n, v in report["outputs"].items()}
    assert sum(len(r) for r in splits.values()) == 240 and 40 <= len(splits["test"]) <= 52
    # Independent check: every duplicate pair found in the outputs lies within one split.
    finder, split_of = DuplicateFinder(0.8), []
    for name, records in splits.items():
        for record in records:
            finder.add(record.narrative)
            split_of.append(name)
    assert len(finder.matches) == 40
    assert all(split_of[i] == split_of[m.index] for i, m in finder.matches.items())
    rejects = list(csv.DictReader((tmp_path / "data.rejects.csv").open(encoding="utf-8")))
    assert [(r["row_number"], r["reason"]) for r in rejects] == [("241", "empty_narrative")]


def test_dedupe_moves_duplicates_to_rejects(tmp_path):
    rows = crash_rows(30)
    source = write_csv(tmp_path / "export.csv", rows + [{**rows[0], "Crash_ID": "copy"}])
    result = prepare_data(config(input=str(source), output=str(tmp_path / "out.csv"), dedupe=True, extract_plans=False))
    assert result.report["rows_out"] == 30 and result.report["rejects_by_reason"] == {"exact_duplicate": 1}
    assert result.exit_code == EXIT_OK  # asked-for drops are not failures
    (reject,) = csv.DictReader((tmp_path / "out.rejects.csv").open(encoding="utf-8"))
    assert reject["Crash_ID"] == "copy" and "Crash_ID 00000" in reject["detail"]


def test_plans_extracted_when_missing(tmp_path):
    source = write_csv(tmp_path / "e.csv", [{"Narrative": "Unit 1 failed to control speed and struck Unit 2 from behind."}])
    result = prepare_data(config(input=str(source), output=str(tmp_path / "o.csv")))
    assert result.report["plans"]["extracted"] == 1
    row = next(csv.DictReader((tmp_path / "o.csv").open(encoding="utf-8")))
    assert "failed to control speed" in row["plan_lines"] and row["Crash_ID"].startswith("auto-")


def test_a_narrative_the_plan_extractor_fails_on_is_rejected_not_written_planless(tmp_path, monkeypatch):
    from crashtransformer.plan import policy

    real = policy.plan_crash

    def fails_on_oak(record, *args, **kwargs):
        if "Oak Ave" in record.narrative:
            raise IndexError("planted extractor bug")
        return real(record, *args, **kwargs)

    monkeypatch.setattr(policy, "plan_crash", fails_on_oak)
    source = write_csv(tmp_path / "export.csv", crash_rows(16))  # rows 1 and 9 are on Oak Ave
    result = prepare_data(config(input=str(source), output=str(tmp_path / "out.csv")))
    assert result.exit_code == EXIT_PARTIAL
    assert result.report["rows_out"] == 14 and result.report["rejects_by_reason"] == {"plan_extraction_failed": 2}
    assert result.report["balanced"]
    rejects = list(csv.DictReader((tmp_path / "out.rejects.csv").open(encoding="utf-8")))
    assert [r["Crash_ID"] for r in rejects] == ["00001", "00009"]
    assert all("IndexError: planted extractor bug" in r["detail"] and r["source_file"] == str(source) for r in rejects)
    written = [r["Crash_ID"] for r in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8"))]
    assert "00001" not in written and len(written) == 14


def test_pipeline_source_joins_on_string_ids(tmp_path):
    graphs = [{"Crash_ID": "0012", "crash": {"raw_narrative": "Unit 1 failed to control speed and struck Unit 2.",
                                             "city": "Dallas", "crash_severity": "Not Injured"}, "events": []},
              {"crash": {"crash_id": 13, "raw_narrative": "Unit 2 backed without safety into Unit 1."}},
              {"Crash_ID": "99", "crash": {"raw_narrative": "Unit 1 hit a pole."}}]
    summaries = [{"Crash_ID": "0012", "plan_lines": ["1) failed to control speed -> rear-end collision"],
                  "best_summary": "U1 rear-ended U2.", "candidates": [{"summary": "x"}]},
                 {"Crash_ID": "13", "best": {"summary": "U2 backed into U1."}, "llm_summary": "LLM text",
                  "plan_lines": []},
                 {"Crash_ID": "12", "best_summary": "no graph for this one"}]
    gfile, sfile = tmp_path / "crash_graphs.jsonl", tmp_path / "crash_summaries.jsonl"
    gfile.write_text("".join(json.dumps(g) + "\n" for g in graphs))
    sfile.write_text("".join(json.dumps(s) + "\n" for s in summaries) + "{broken\n")
    result = prepare_data(config(source="pipeline", graphs_file=str(gfile), summaries_file=str(sfile),
                                 target_field="best_summary", output=str(tmp_path / "train.csv")))
    report = result.report
    assert report["rows_out"] == 2 and report["balanced"] and result.exit_code == EXIT_PARTIAL
    assert report["rejects_by_reason"] == {"unmatched_id": 2, "broken_json": 1}
    assert report["input"]["graphs_without_summary"] == 1 and report["input"]["summaries_without_graph"] == 1
    records = {r.crash_id: r for r in read_training_file(result.outputs["train"])}
    assert records["0012"].summary == "U1 rear-ended U2." and records["0012"].metadata["City"] == "Dallas"
    assert records["13"].summary == "U2 backed into U1."  # the original tool's best.summary
    llm = prepare_data(config(source="pipeline", graphs_file=str(gfile), summaries_file=str(sfile),
                              target_field="llm_summary", output=str(tmp_path / "llm.jsonl")))
    assert llm.report["rows_out"] == 1 and llm.report["rejects_by_reason"]["missing_target"] == 1


def _run_artifacts(tmp_path: Path, summaries: list[dict]) -> tuple[Path, Path]:
    """crash_graphs.jsonl and crash_summaries.jsonl as `run` writes them (one graph per summary)."""
    graphs = [{"Crash_ID": s["Crash_ID"], "crash": {"raw_narrative": f"Unit 1 struck Unit 2 on road {s['Crash_ID']}."}}
              for s in summaries]
    gfile, sfile = tmp_path / "crash_graphs.jsonl", tmp_path / "crash_summaries.jsonl"
    gfile.write_text("".join(json.dumps(g) + "\n" for g in graphs))
    sfile.write_text("".join(json.dumps(s) + "\n" for s in summaries))
    return gfile, sfile


def _pipeline_flags(gfile: Path, sfile: Path) -> list[str]:
    return ["prepare-data", "--source", "pipeline", "--graphs_file", str(gfile), "--summaries_file", str(sfile)]


def test_pipeline_target_is_the_reference_for_the_whole_input_never_the_models_own(tmp_path):
    """After `run`, rows hold the model's best_summary and the input's reference_summary: the target
    is the reference, for every row, named on the console and in the report."""
    summaries = [{"Crash_ID": str(i), "best_summary": f"model said {i}", "reference_summary": f"reference {i}"}
                 for i in range(4)]
    summaries[2]["reference_summary"] = None  # an input row without a reference: rejected, not filled in
    flags = _pipeline_flags(*_run_artifacts(tmp_path, summaries))
    result = run_cli(*flags, "--output", "out.csv", cwd=tmp_path)
    assert result.returncode == EXIT_PARTIAL, result.stderr
    assert "training target: reference_summary (chosen automatically)" in result.stderr
    assert "target: reference_summary (chosen by auto)" in result.stdout
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["input"]["target_field"] == "reference_summary" and report["input"]["target_field_chosen_by"] == "auto"
    assert report["rejects_by_reason"] == {"missing_target": 1}
    assert [r.summary for r in read_training_file(tmp_path / "out.csv")] == ["reference 0", "reference 1", "reference 3"]
    rejects = list(csv.DictReader((tmp_path / "out.rejects.csv").open(encoding="utf-8")))
    assert rejects[0]["Crash_ID"] == "2" and "no reference_summary" in rejects[0]["detail"]


def test_pipeline_target_falls_back_to_llm_summary(tmp_path):
    summaries = [{"Crash_ID": str(i), "best.summary": f"model said {i}", "llm_summary": f"llm {i}"} for i in range(3)]
    gfile, sfile = _run_artifacts(tmp_path, summaries)
    report = prepare_data(config(source="pipeline", graphs_file=str(gfile), summaries_file=str(sfile),
                                 output=str(tmp_path / "out.csv"))).report
    assert report["input"]["target_field"] == "llm_summary" and report["rows_out"] == 3


def test_pipeline_with_only_the_models_own_summaries_stops_unless_asked_by_name(tmp_path):
    flags = _pipeline_flags(*_run_artifacts(tmp_path, [{"Crash_ID": str(i), "best_summary": f"model said {i}"} for i in range(3)]))
    refused = run_cli("--log_level", "ERROR", *flags, "--output", "out.csv", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0
    assert "only best_summary" in refused.stderr and "--target_field best_summary" in refused.stderr
    assert not (tmp_path / "out.csv").exists()
    asked = run_cli(*flags, "--target_field", "best_summary", "--output", "out.csv", cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["input"]["target_field"] == "best_summary" and report["input"]["target_field_chosen_by"] == "--target_field"


def test_xlsx_source_label_and_pii(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Crashes"
    sheet.append(["CASEID", "SUMMARY", "MANCOLL_LABEL"])
    sheet.append([1, "V1 struck V2. Call 956-555-0101 or mail a.b@example.com.", "Rear-End"])
    sheet.append([2, "V1 left the roadway and struck a tree.", "Not collision"])
    path = tmp_path / "ciss.xlsx"
    book.save(path)
    result = prepare_data(config(xlsx=str(path), worksheet="Crashes", output=str(tmp_path / "o.jsonl"),
                                 label_column="MANCOLL_LABEL", scrub_pii=True, extract_plans=False))
    assert result.report["label_balance"]["all"] == {"Rear-End": 1, "Not collision": 1}
    line = json.loads((tmp_path / "o.jsonl").read_text().splitlines()[0])
    assert line["narrative"] == "V1 struck V2. Call [PHONE] or mail [EMAIL]." and line["metadata"]["crash_id"] == "1"
    with pytest.raises(UserError, match="--label_column Injury"):
        prepare_data(config(xlsx=str(path), output=str(tmp_path / "p.csv"), label_column="Injury"))
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("values, message", [
    ({}, "nothing to prepare"),
    ({"source": "csv"}, "needs --input"),
    ({"source": "synthetic", "validation_split": 0.6, "test_split": 0.5}, "sum below 1"),
    ({"source": "synthetic", "output": "x.parquet"}, "cannot tell the output format"),
])
def test_bad_options(tmp_path, values, message):
    values.setdefault("output", str(tmp_path / "o.csv"))
    with pytest.raises(UserError, match=message):
        prepare_data(config(**values))


def test_cli_user_errors_and_partial_exit(tmp_path):
    missing = run_cli("prepare-data", "--input", str(tmp_path / "nope.csv"), "--output", "o.csv", cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert [line for line in missing.stderr.splitlines() if " INFO " not in line] == \
        [f"error: input file not found: {tmp_path / 'nope.csv'}"]
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("Narrative;Crash_ID\nUnit 1 struck a fence;1\n", encoding="utf-8")
    wrong = run_cli("prepare-data", "--input", str(semicolons), "--delimiter", ",", "--output", "o.csv", cwd=tmp_path)
    assert wrong.returncode == 2 and "pass --delimiter" in wrong.stderr and "Traceback" not in wrong.stderr
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Narrative,Crash_ID\nUnit 1 struck a caf\xc3\xa9 fence,1\n\xff\xfe broken,2\n")
    partial = run_cli("prepare-data", "--input", str(bad), "--output", "o.csv", "--no_extract_plans", cwd=tmp_path)
    assert partial.returncode == 3, partial.stderr
    assert "rows in: 2  =  rows out: 1  +  rejected: 1  (balanced)" in partial.stdout
    assert json.loads((tmp_path / "o.config.json").read_text())["input"] == str(bad)


def test_real_cris_export_splits_without_leaks(tmp_path):
    source = shared_file("cris_narratives_llm_summaries.csv")
    result = prepare_data(config(source="csv", input=str(source), summary_column="summary", validation_split=0.1,
                                 test_split=0.1, dedupe=True, output=str(tmp_path / "cris.csv")))
    report = result.report
    assert report["balanced"] and report["rows_in"] == 2994
    assert report["duplicates"]["duplicate_pairs_across_splits"] == 0
    assert sum(v["rows"] for v in report["outputs"].values()) == report["rows_out"]
    assert report["input"]["cleaning"]["mojibake"] > 0
    for path in result.outputs.values():
        assert all("\u00e2\u00a0" not in r.narrative for r in read_training_file(path))
