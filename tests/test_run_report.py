"""report.html and crash_summaries.csv of a run (crashtransformer/run/html.py), from artifacts
written here by hand: highlighting, flags, the bound on details, the `report` command."""

from __future__ import annotations

import csv
import json

import pytest

from conftest import run_cli
from crashtransformer.core.errors import UserError
from crashtransformer.plan.graph import extract_graph, extract_plan_lines
from crashtransformer.run import html
from crashtransformer.run.artifacts import GRAPHS, SUMMARIES

NARRATIVE = "Unit 2 was stopped at the light. Unit 1 failed to control speed and struck the back of Unit 2."


def write_out_dir(path, narratives: list[str], invented: set[int] = frozenset()):
    path.mkdir(parents=True, exist_ok=True)
    graphs, summaries = [], []
    for number, narrative in enumerate(narratives):
        crash_id = f"c{number}"
        graphs.append(extract_graph(narrative, crash_id, {"raw_narrative": narrative}))
        summaries.append({"Crash_ID": crash_id, "plan_lines": extract_plan_lines(narrative),
                          "candidates": [{"summary": f"summary {number}", "score": 0.5, "model_score": None}],
                          "best_summary": f"summary {number}", "reference_summary": None,
                          "metrics": {"has_hallucinated_specific": 1.0 if number in invented else 0.0},
                          "input_truncated": False, "source_file": "in.csv", "row_number": number + 1})
    for name, rows in ((GRAPHS, graphs), (SUMMARIES, summaries)):
        (path / name).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_evidence_spans_become_highlighted_segments():
    graph = extract_graph(NARRATIVE, "1", {"raw_narrative": NARRATIVE})
    segments = html.highlighted(NARRATIVE, graph)
    assert "".join(text for text, _ in segments) == NARRATIVE  # nothing lost, nothing added
    kinds = {text: kind for text, kind in segments}
    assert kinds["failed to control speed"] == "factor" and kinds["struck"] == "collision"
    assert kinds["Unit 2"] == "unit"


def test_page_escapes_the_narrative_and_lists_flags(tmp_path):
    hostile = "=HYPERLINK(\"http://x\") <script>alert('x')</script> Unit 1 struck a pole."
    out = write_out_dir(tmp_path / "out", [NARRATIVE, hostile], invented={0})
    page_path, sheet = html.write_run_html(out)
    page = page_path.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(" in page and "<script>alert(" not in page
    assert "invented specifics" in page and "no plan" in page
    assert "http://" not in page.replace('=HYPERLINK(&#34;http://x&#34;)', "")  # no network resource
    rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
    assert [r["Crash_ID"] for r in rows] == ["c0", "c1"]
    assert rows[0]["manner"] == "rear-end collision" and rows[0]["cause"] == "failed to control speed"
    assert rows[1]["flags"] == "no plan" and rows[1]["narrative"].startswith("'=")  # a formula shown as text


def test_details_are_bounded_but_every_crash_is_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(html, "DETAILS_FLAGGED", 3)
    monkeypatch.setattr(html, "DETAILS_SAMPLE", 4)
    out = write_out_dir(tmp_path / "out", [NARRATIVE] * 40, invented=set(range(10)))
    rows = []
    tally, shown = html.collect(out, rows.append)
    assert tally.crashes == len(rows) == 40 and tally.manners["rear-end collision"] == 40
    assert len(shown) == 7 and sum(bool(c["flags"]) for c in shown) == 3


def test_report_command_rebuilds_the_page_and_refuses_a_directory_without_a_run(tmp_path):
    out = write_out_dir(tmp_path / "out", [NARRATIVE])
    done = run_cli("report", "--out_dir", str(out), cwd=tmp_path)
    assert done.returncode == 0 and (out / html.HTML_REPORT).is_file()
    empty = run_cli("report", "--out_dir", str(tmp_path / "nothing"), cwd=tmp_path)
    assert empty.returncode == 2 and "holds no crash_summaries.jsonl" in empty.stderr
    with pytest.raises(UserError):
        html.rebuild_run_html(tmp_path / "nothing")


def test_a_run_that_summarized_nothing_still_gets_its_page(tmp_path):
    """A header-only input: no crash, a page that says so (and an empty spreadsheet)."""
    out = tmp_path / "empty"
    out.mkdir()
    page, sheet = html.write_run_html(out)
    assert "No rejected rows" in page.read_text(encoding="utf-8")
    assert sheet.read_text(encoding="utf-8").splitlines() == [",".join(html.SPREADSHEET_COLUMNS)]
