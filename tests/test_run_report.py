"""report.html and crash_summaries.csv of a run (crashtransformer/run/html.py), from artifacts
written here by hand: highlighting, flags, the bound on details, the `report` command, the claim
checker's rates and the summary source (and rows of older runs, which carry neither)."""

from __future__ import annotations

import csv
import json

import pytest

from conftest import run_cli
from crashtransformer.core.errors import UserError
from crashtransformer.plan.graph import extract_graph, extract_plan_lines
from crashtransformer.run import html
from crashtransformer.run.artifacts import GRAPHS, METRIC_COLUMNS, METRICS, SUMMARIES, ArtifactStore, metric_row

NARRATIVE = "Unit 2 was stopped at the light. Unit 1 failed to control speed and struck the back of Unit 2."


def write_out_dir(path, narratives: list[str], invented: set[int] = frozenset(), extra: dict[int, dict] | None = None):
    """A run directory by hand; `extra[number]` is merged into crash `number`'s summary row."""
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
        for key, value in (extra or {}).get(number, {}).items():
            if key == "metrics":
                summaries[-1]["metrics"].update(value)
            else:
                summaries[-1][key] = value
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


# ----------------------------------------------------------------------------- claims and summary source

CLEAN = "Unit 1 failed to control speed and struck the back of Unit 2."
HEDGED = "Unit 1 likely failed to control speed and struck Unit 2."
INVENTED_CAUSE = "Unit 1 ran the red light and struck Unit 2."


def _checked(summary: str, source: str) -> dict:
    """The fields run/crash.py writes for a chosen summary: its claims, their figures, its source."""
    from crashtransformer.metrics.claims import check_claims, claim_figures

    claims = check_claims(summary, NARRATIVE)
    figures = {k: v for k, v in claim_figures(claims).items() if k != "unsupported_list"}
    return {"best_summary": summary, "summary_source": source, "unsupported_claims": [c.to_dict() for c in claims],
            "metrics": figures}


def claims_out_dir(path):
    """c0 clean (written from the graph), c1 hedged, c2 an invented cause, c3 a row of an older run."""
    rows = {0: _checked(CLEAN, "graph"), 1: _checked(HEDGED, "model"), 2: _checked(INVENTED_CAUSE, "model")}
    return write_out_dir(path, [NARRATIVE] * 4, extra=rows)


def test_run_report_counts_claim_rates_and_summary_sources(tmp_path):
    from crashtransformer.run.report import _aggregate_metrics

    metrics = _aggregate_metrics(claims_out_dir(tmp_path / "out"))
    assert metrics["crashes"] == 4 and metrics["claims_checked"] == 3  # the older row is not counted
    assert metrics["unsupported_claim_rate"] == pytest.approx(1 / 3)
    assert metrics["speculation_rate"] == pytest.approx(1 / 3)
    assert metrics["unsupported_claims_mean"] == pytest.approx(1 / 3)  # one claim; hedges apart
    assert metrics["summary_source"] == {"model": 2, "graph": 1, "unknown": 1}
    assert metrics["summaries_from_graph"] == 1


def test_page_shows_the_rates_the_flags_the_claims_and_the_source(tmp_path):
    out = claims_out_dir(tmp_path / "out")
    tally, shown = html.collect(out)
    assert (tally.claims_checked, tally.unsupported, tally.speculating) == (3, 1, 1)
    views = {view["id"]: view for view in shown}
    assert "unsupported claim" in views["c2"]["flags"] and "speculation" in views["c1"]["flags"]
    assert not {"unsupported claim", "speculation"} & set(views["c0"]["flags"] + views["c3"]["flags"])
    assert views["c3"]["claims"] is None and views["c3"]["summary_source"] == "unknown"

    page = html.write_run_html(out)[0].read_text(encoding="utf-8")
    headline = page[page.index('id="headline"'):page.index('id="glance"')]
    assert headline.count("33.3%") == 2 and "1 of 3 summaries" in headline and "1 not checked" in headline
    assert 'id="headline-summaries_from_graph"><div class="value">1<' in headline
    assert "of 3 with a known source (2 by the model); 1 unknown" in headline
    assert "the narrative gives no cue for &#39;disregarded traffic signal&#39;" in page  # the claim and why
    assert "“ran the red light”" in page and "“likely”" in page
    assert "written from the crash graph" in page and "Claims not checked" in page
    table = page[page.index('id="crashes"'):page.index("</table>", page.index('id="crashes"'))]
    assert '<tr data-source="graph">' in table and table.count('data-source="model"') == 2
    assert '<tr data-source="unknown">' in table and "<th>source</th>" in table
    assert '<option value="graph">graph</option>' in page


def test_spreadsheets_carry_the_source_and_the_claims_as_text(tmp_path):
    out = claims_out_dir(tmp_path / "out")
    sheet = html.write_run_html(out)[1]
    rows = {r["Crash_ID"]: r for r in csv.DictReader(sheet.open(encoding="utf-8"))}
    assert [rows[c]["summary_source"] for c in ("c0", "c1", "c2", "c3")] == ["graph", "model", "model", "unknown"]
    assert rows["c2"]["unsupported_claims"] == \
        "factor: ran the red light (the narrative gives no cue for 'disregarded traffic signal')"
    assert rows["c1"]["unsupported_claims"].startswith("hedge: likely (speculation")
    assert rows["c0"]["unsupported_claims"] == rows["c3"]["unsupported_claims"] == ""
    assert "unsupported claim" in rows["c2"]["flags"]

    summaries = [json.loads(line) for line in (out / SUMMARIES).read_text(encoding="utf-8").splitlines()]
    metric_rows = [metric_row(row) for row in summaries]
    assert metric_rows[2]["summary_source"] == "model" and metric_rows[2]["has_unsupported_claim"] == 1.0
    assert metric_rows[2]["unsupported_list"].startswith("factor: ran the red light")
    assert metric_rows[3]["summary_source"] is None and metric_rows[3]["unsupported_list"] is None
    assert {"summary_source", "unsupported_list", "has_unsupported_claim", "has_speculation"} <= set(METRIC_COLUMNS)


def test_an_older_directory_gets_the_new_metric_columns_not_a_refusal(tmp_path):
    """summaries_metrics.csv of an earlier version (fewer columns) is widened when a run resumes there."""
    old_columns = METRIC_COLUMNS[:METRIC_COLUMNS.index("summary_source")]
    store = ArtifactStore(tmp_path / "old").open()
    store.use_metric_columns(old_columns)
    store.append_chunk([], [{"Crash_ID": "1", "source_file": "f", "best_summary": "s",
                             "metrics": {"plan_coverage": 1.0}}])
    reopened = ArtifactStore(tmp_path / "old").open()
    assert reopened.metric_columns == old_columns
    reopened.use_metric_columns(METRIC_COLUMNS)
    reopened.append_chunk([], [{"Crash_ID": "2", "source_file": "f", "best_summary": "s", "summary_source": "graph",
                                "metrics": {"has_unsupported_claim": 0.0}}])
    with open(tmp_path / "old" / METRICS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == METRIC_COLUMNS and [r["Crash_ID"] for r in rows] == ["1", "2"]
    assert (rows[0]["plan_coverage"], rows[0]["summary_source"]) == ("1", "")
    assert (rows[1]["summary_source"], rows[1]["has_unsupported_claim"]) == ("graph", "0")
    assert ArtifactStore(tmp_path / "old").open().metric_columns == METRIC_COLUMNS


def test_rows_of_an_older_run_render_and_count_as_unknown(tmp_path):
    """Rows without summary_source, unsupported_claims or the claim figures (a run before them)."""
    out = write_out_dir(tmp_path / "out", [NARRATIVE, NARRATIVE])
    done = run_cli("report", "--out_dir", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (out / html.HTML_REPORT).read_text(encoding="utf-8")
    headline = page[page.index('id="headline"'):page.index('id="glance"')]
    assert "0 of 0 summaries" in headline and "2 not checked" in headline and "–" in headline
    assert page.count("Claims not checked") == 2 and "unsupported claim</span>" not in page
    rows = list(csv.DictReader((out / html.SPREADSHEET).open(encoding="utf-8")))
    assert [r["summary_source"] for r in rows] == ["unknown", "unknown"]
