"""Crash graphs on police prose as an OCR'd CR-3 scan gives it: the form's headings inside the text,
look-alike digits, a line's clipped first letter, a word split by a stray space; and typed prose
that looks like damage but is not (plan/scan_repair.py). Each narrative is written for the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from crashtransformer.metrics.claims import check_claims
from crashtransformer.plan.graph import at_fault_unit, collision_roles, extract_graph, primary_manner
from crashtransformer.plan.scan_repair import map_span, repair

SCANNED = ("INVESTIGATOR'S NARRATIVE OPINION OF WHAT HAPPENED\n"
           "UNIT 2 WAS STOPPED AT THE RED LIGHT FACING NORTH. UNIT 1 WAS TRAVELING\n"
           "ORTHBOUND BEHIND UNIT 2. UNIT 1 FAILED TO\n"
           "FA CT ORS & CONDITIONS\n"
           "C0NTROL ITS SPEED AND\n"
           "TRUCK UNIT 2 IN THE BACK END. UNIT 1 WAS\n"
           "ISTRACTED BY HIS PH0NE.")


def _factors(graph: dict) -> set[str]:
    return {e["key"] for e in graph["events"] if e["type"] == "factor"}


def test_a_scanned_narrative_gives_the_graph_its_typed_twin_gives():
    typed = ("Unit 2 was stopped at the red light facing north. Unit 1 was traveling northbound behind unit 2. "
             "Unit 1 failed to control its speed and struck unit 2 in the back end. Unit 1 was distracted by his phone.")
    scanned, clean = extract_graph(SCANNED, "1", fallback=False), extract_graph(typed, "1", fallback=False)
    assert primary_manner(scanned) == primary_manner(clean) == "rear_end"
    assert _factors(scanned) == _factors(clean) == {"failed_to_control_speed", "cell_phone"}
    assert at_fault_unit(scanned) == "U1" and collision_roles(scanned) == {"U1": "striking", "U2": "struck"}


def test_evidence_spans_point_into_the_scan_as_given():
    graph = extract_graph(SCANNED, "1", fallback=False)
    speed = next(e for e in graph["events"] if e["key"] == "failed_to_control_speed")
    quoted = SCANNED[speed["evidence_span"][0]:speed["evidence_span"][1]]
    assert quoted.startswith("FAILED TO") and "C0NTROL" in quoted  # the words as scanned, not as mended
    for entity in graph["entities"]:
        start, end = entity["evidence_span"]
        assert entity["text"] == SCANNED[start:end]


@pytest.mark.parametrize("scanned, mended", [
    ("UNIT 1 WAS\nAILED TO YIELD", "UNIT 1 WAS\nFAILED TO YIELD"),  # a clipped first letter
    ("UNIT 1 FAILED\nO CONTROL SPEED", "UNIT 1 FAILED\nTO CONTROL SPEED"),  # "to" clipped to a lone "o"
    ("UNIT 1 5TRUCK UNIT 2 1MPACTING\nIT", "UNIT 1 STRUCK UNIT 2 IMPACTING\nIT"),  # look-alike digits
    ("UNIT 1 FAILED T0 CONTROL SPEED", "UNIT 1 FAILED TO CONTROL SPEED"),  # a short word's look-alike
    ("UNIT 1\nSTR UCK UNIT 2", "UNIT 1\nSTRUCK UNIT 2"),  # a split word in a scan
    ("UNIT 1 WAS\nTRUCK IN THE REAR", "UNIT 1 WAS\nSTRUCK IN THE REAR"),  # a clipped "struck" that reads as a truck
    ("UNIT 1 RAN\nHE RED LIGHT AND\nHE STRUCK IT", "UNIT 1 RAN\nTHE RED LIGHT AND\nHE STRUCK IT"),  # "the", not "he"
])
def test_a_scans_broken_words_are_mended(scanned, mended):
    assert repair(scanned)[0] == mended


@pytest.mark.parametrize("typed", [
    "unit 1s rear bumper struck u5 and v0.",  # possessive numbers and unit names are no look-alikes
    "unit 2 was parked in the drive way to pick up a child and unit 1 side swiped it.",  # as people write
    "UNIT 1 DID\nOT SEE UNIT 2",  # "ot": "not" or "lot", no guess
    "THE DRIVER OF A\nTRUCK WAS TOWING A TRAILER",  # a truck
    "unit 1 str uck unit 2",  # typed text (no scan's line breaks) is left as written
])
def test_words_that_only_look_damaged_are_left_as_written(typed):
    assert repair(typed) == (typed, None)


def test_a_heading_is_blanked_without_ending_the_sentence():
    mended, offsets = repair("UNIT 1 FAILED TO\n(ATTACH ADDITIONAL SHEETS IF NECESSARY)\nCONTROL SPEED")
    assert offsets is None and "ATTACH" not in mended and "\n\n" not in mended.replace(" ", "")


def test_a_span_maps_back_across_a_restored_letter_and_a_removed_space():
    narrative = "UNIT 1\nAILED TO STOP AND\nSTR UCK UNIT 2"
    mended, offsets = repair(narrative)
    start = mended.index("STRUCK")
    assert narrative[slice(*map_span((start, start + len("STRUCK")), offsets))] == "STR UCK"
    start = mended.index("FAILED")
    assert narrative[slice(*map_span((start, start + 6), offsets))] == "AILED"


def test_a_scan_read_from_a_file_keeps_the_lines_its_mends_need():
    # the reader collapses spaces, not line breaks: a clipped letter is restored at a line start
    from crashtransformer.data.records import CrashRecord, clean_record
    from crashtransformer.plan.policy import plan_crash

    record = clean_record(CrashRecord("1", "UNIT 2 WAS STOPPED.  UNIT 1   WAS BEHIND UNIT 2 AND\r\nAILED TO CONTROL SPEED\n"
                                           "TRIKING THE REAR OF UNIT 2."))
    assert "\nAILED" in record.narrative
    assert plan_crash(record).plan_lines == ["1) failed to control speed -> rear-end collision | actors=U1 -> U2"]


def test_the_checker_reads_the_scan_as_mended():
    # the narrative states the speed cause only through a clipped line: the summary is supported
    found = check_claims("Unit 1 failed to control speed and struck Unit 2.", SCANNED)
    assert [c for c in found if c.type != "hedge"] == []


def test_the_bench_renders_a_scan_the_same_way_every_time():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from ocr_style import as_ocr_scan

    narrative = ("unit 1 was traveling north in the inside lane behind unit 2. unit 2 slowed for traffic. unit 1 "
                 "failed to control speed and struck the back of unit 2 causing damage to both vehicles.")
    scan = as_ocr_scan(narrative)
    assert scan == as_ocr_scan(narrative) and scan != narrative.upper() and "\n" in scan
