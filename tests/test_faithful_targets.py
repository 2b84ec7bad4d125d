"""Faithful training targets: prepare-data --clean_summaries cuts what the narrative does not support."""

from __future__ import annotations

import csv
import json

import pytest

from crashtransformer.core.config import PrepareDataConfig
from crashtransformer.data.records import read_training_file
from crashtransformer.metrics import claim_facts
from crashtransformer.metrics.claims import check_claims
from crashtransformer.plan.graph import extract_graph
from crashtransformer.prepare.command import NO_FAITHFUL_TARGET, prepare_data
from crashtransformer.metrics.sentences import split_sentences
from crashtransformer.prepare.faithful import clean_summary

NARRATIVE = ("Unit 1 was traveling north on Main St. Unit 1 failed to control speed and struck Unit 2 in the rear. "
             "Unit 2 was stopped at a red light.")
SUPPORTED = "Unit 1 failed to control speed and struck Unit 2 in the rear while Unit 2 was stopped at a red light."
HEDGED = "Unit 1 failed to control speed and struck Unit 2 from behind. This was likely due to the failure to control speed."
INATTENTION = "Unit 1 failed to control speed and struck Unit 2 due to inattention."
INVENTED = "Unit 1 was speeding and drunk. The driver was probably texting."


def test_a_hedge_sentence_is_dropped():
    cleaned = clean_summary(HEDGED, NARRATIVE)
    assert cleaned.text == "Unit 1 failed to control speed and struck Unit 2 from behind."
    assert (cleaned.dropped_sentences, cleaned.dropped_clauses, cleaned.hedges_removed) == (1, 0, 1)
    assert cleaned.touched and not cleaned.empty


def test_an_unsupported_clause_is_cut_and_the_sentence_kept():
    cleaned = clean_summary(INATTENTION, NARRATIVE)  # the narrative says nothing of attention
    assert cleaned.text == "Unit 1 failed to control speed and struck Unit 2."
    assert (cleaned.dropped_sentences, cleaned.dropped_clauses, cleaned.unsupported_removed) == (0, 1, 1)
    middle = clean_summary("Unit 1 struck Unit 2 due to inattention, traveling north.", NARRATIVE)
    assert middle.text == "Unit 1 struck Unit 2, traveling north."
    aside = clean_summary("Unit 1, distracted by a cell phone, failed to control speed and struck Unit 2.", NARRATIVE)
    assert aside.text == "Unit 1 failed to control speed and struck Unit 2."


def test_a_judgment_in_words_the_narrative_never_uses_goes_as_run_would_reject_it():
    cleaned = clean_summary("Unit 1 failed to control speed and struck Unit 2. The root cause was a failure to "
                            "exercise proper caution.", NARRATIVE)
    assert cleaned.text == "Unit 1 failed to control speed and struck Unit 2."
    kept = clean_summary("Unit 1 struck Unit 2, pushing it forward.", NARRATIVE)  # "pushing", "forward": not its words
    assert kept.text == "Unit 1 struck Unit 2."


def test_a_guess_between_causes_goes_whole_and_so_does_what_points_back_at_a_dropped_sentence():
    either = clean_summary("Unit 1 struck Unit 2 due to speed or inattention.", NARRATIVE)
    assert either.text == "Unit 1 struck Unit 2."  # never "due to speed": half a guess reads as a finding
    orphan = clean_summary("The driver was drunk. This was the root cause. Unit 1 struck Unit 2.", NARRATIVE)
    assert orphan.text == "Unit 1 struck Unit 2." and orphan.dropped_sentences == 2


def test_a_supported_summary_is_unchanged():
    cleaned = clean_summary(SUPPORTED, NARRATIVE)
    assert cleaned.text == SUPPORTED and not cleaned.touched
    assert (cleaned.dropped_sentences, cleaned.dropped_clauses, cleaned.hedges_removed, cleaned.unsupported_removed) \
        == (0, 0, 0, 0)


def test_a_summary_with_nothing_supported_is_left_empty():
    cleaned = clean_summary(INVENTED, NARRATIVE)
    assert cleaned.text == "" and cleaned.empty and cleaned.dropped_sentences == 2
    assert cleaned.hedges_removed == 1 and cleaned.unsupported_removed >= 2


@pytest.mark.parametrize("summary", [
    HEDGED, INATTENTION, INVENTED, SUPPORTED,
    "Unit 1 failed to control speed, likely because of wet roads, and struck Unit 2.",
    "The vehicle's design or restraint system likely failed to protect Unit 1. Unit 1 struck Unit 2.",
    "Here is a summary:\n\nUnit 1 struck Unit 2 in the rear, possibly because the driver was asleep.",
    "Veh. 1 struck veh. 2, due to misjudging veh. 2's speed while it may have been distracted.",
])
def test_what_is_left_checks_clean_and_reads_as_sentences(summary):
    cleaned = clean_summary(summary, NARRATIVE)
    assert check_claims(cleaned.text, NARRATIVE) == []
    for sentence in split_sentences(cleaned.text):
        assert sentence[0].isupper() and sentence.endswith((".", ":")) and len(sentence.split()) >= 3, sentence


def test_the_graph_given_is_used_not_extracted_again(monkeypatch):
    graph = extract_graph(NARRATIVE)
    monkeypatch.setattr(claim_facts, "extract_graph", lambda *a, **k: pytest.fail("graph extracted twice"))
    assert clean_summary(INATTENTION, NARRATIVE, graph).text == "Unit 1 failed to control speed and struck Unit 2."


def _write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["Crash_ID", "Narrative", "Summary"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_prepare_data_cleans_summaries_and_reports_it(tmp_path, monkeypatch):
    narratives = [NARRATIVE, NARRATIVE.replace("Main St", "Oak Ave"), NARRATIVE.replace("north", "south"),
                  NARRATIVE.replace("Main St", "Elm St").replace("north", "west")]
    summaries = [SUPPORTED, HEDGED, INATTENTION, INVENTED]
    source = _write_csv(tmp_path / "export.csv", [{"Crash_ID": str(i), "Narrative": n, "Summary": s}
                                                  for i, (n, s) in enumerate(zip(narratives, summaries))])
    # the plan extraction's graph is passed on: the checker never parses a narrative itself
    monkeypatch.setattr(claim_facts, "extract_graph", lambda *a, **k: pytest.fail("graph extracted twice"))
    result = prepare_data(PrepareDataConfig(source="csv", input=str(source), output=str(tmp_path / "out.csv"),
                                            clean_summaries=True))
    report = result.report
    assert report["summary_cleaning"] == {"rows_checked": 4, "rows_touched": 3, "sentences_dropped": 3,
                                          "clauses_dropped": 1, "hedges_removed": 2,
                                          "unsupported_removed": report["summary_cleaning"]["unsupported_removed"],
                                          "rows_without_target": 1}
    assert report["summary_cleaning"]["unsupported_removed"] >= 3  # inattention, speeding, drunk, texting
    assert report["rows_out"] == 3 and report["rows_rejected"] == 1 and report["balanced"]
    assert report["rejects_by_reason"] == {NO_FAITHFUL_TARGET: 1} and report["duplicates"]["dropped"] == 0
    assert json.loads((tmp_path / "out.report.json").read_text())["summary_cleaning"] == report["summary_cleaning"]
    assert "summary cleaning: 3 of 4 summaries touched" in result.text and "1 rows left with no target" in result.text
    assert [r.summary for r in read_training_file(result.outputs["train"])] == [
        SUPPORTED, "Unit 1 failed to control speed and struck Unit 2 from behind.",
        "Unit 1 failed to control speed and struck Unit 2."]
    with result.rejects_file.open(encoding="utf-8") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["Crash_ID"], r["field"], r["reason"]) for r in rejected] == [("3", "summary", NO_FAITHFUL_TARGET)]


def test_prepare_data_leaves_summaries_alone_by_default(tmp_path):
    source = _write_csv(tmp_path / "export.csv", [{"Crash_ID": "1", "Narrative": NARRATIVE, "Summary": INVENTED}])
    result = prepare_data(PrepareDataConfig(input=str(source), output=str(tmp_path / "out.csv")))
    assert "summary_cleaning" not in result.report and "summary cleaning" not in result.text
    assert read_training_file(result.outputs["train"])[0].summary == INVENTED
