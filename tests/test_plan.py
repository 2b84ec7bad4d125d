"""Offline crash graphs and plans (crashtransformer/plan/graph.py) on hand-written narratives."""

from __future__ import annotations

import json

import pytest

from conftest import shared_file
from crashtransformer.plan.catalogue import FACTORS, MANNER_BY_KEY, MANNERS, PlanStep, format_plan, parse_plan
from crashtransformer.core.errors import UserError
from crashtransformer.plan.graph import (PLAN_MIN_CONFIDENCE, extract_graph, extract_plan_lines,
                                   plan_lines_from_external_graph,
                                   plan_steps_from_graph, primary_manner, read_graphs_file)


def factor_keys(narrative: str) -> set[str]:
    return {e["key"] for e in extract_graph(narrative)["events"] if e["type"] == "factor"}


# One narrative per catalogue factor, written the way officers write (word order, filler,
# abbreviations), not the catalogue's own wording.
FACTOR_NARRATIVES = {
    "failed_to_control_speed": "Unit 2 was slowing for traffic. Unit 1 did not control his speed and struck the back of Unit 2.",
    "unsafe_speed": "Unit 1 was traveling at a high rate of speed, lost control and struck a tree.",
    "followed_too_closely": "Unit 1 was following Unit 2 too closely and rear-ended Unit 2 when it stopped.",
    "yield_stop_sign": "Unit 1 was stopped at the stop sign on Elm St. Unit 1 pulled out and failed to yield the right of way to Unit 2. The front of Unit 2 struck the left side of Unit 1.",
    "yield_turning_left": "Unit 1 was turning left onto Oak Ave and failed to yield right of way to Unit 2, which was traveling straight. Unit 2 struck Unit 1.",
    "yield_yield_sign": "Unit 1 entered the roundabout from the yield sign and failed to yield to Unit 2. Unit 1 struck the right side of Unit 2.",
    "yield_private_drive": "Unit 1 was exiting a private drive and FTYROW to Unit 2. Unit 2 struck Unit 1 on the left side.",
    "yield_pedestrian": "Unit 1 turned right and failed to yield to a pedestrian in the crosswalk. Unit 1 struck the pedestrian.",
    "disregarded_signal": "Unit 1 ran the red light and struck the left side of Unit 2 in the intersection.",
    "disregarded_stop_sign": "Unit 1 failed to stop at the posted stop sign and collided with Unit 2.",
    "unsafe_lane_change": "Unit 1 made an unsafe lane change into lane 2 and sideswiped Unit 2.",
    "failed_single_lane": "Unit 1 failed to drive in a single lane, drifted into the oncoming lane and struck Unit 2 head-on.",
    "improper_passing": "Unit 1 attempted to pass Unit 2 in a no passing zone and struck Unit 3 head-on.",
    "wrong_way": "Unit 1 was traveling the wrong way on the IH 35 frontage road and struck Unit 2 head on.",
    "turned_improperly": "Unit 1 made a wide right turn and struck the left side of Unit 2.",
    "driver_inattention": "The driver of Unit 1 was not paying attention and struck the back of Unit 2.",
    "cell_phone": "Unit 1 admitted to looking at her cell phone and rear-ended Unit 2.",
    "under_influence_alcohol": "Unit 1 struck a utility pole. The driver of Unit 1 was intoxicated and was arrested for DWI.",
    "under_influence_drugs": "Unit 1 struck the median barrier. The driver of Unit 1 was under the influence of narcotics.",
    "fatigued": "The driver of Unit 1 fell asleep at the wheel and struck a fence.",
    "ill": "The driver of Unit 1 suffered a seizure and struck a parked vehicle.",
    "backed_without_safety": "Unit 1 was backing out of a parking space and struck Unit 2 as it drove by.",
    "unsafe_start": "Unit 1 made an unsafe start from a parked position and struck Unit 2.",
    "overcorrected": "Unit 1 drifted onto the shoulder, the driver overcorrected and the vehicle rolled over.",
    "faulty_evasive_action": "Unit 1 swerved to avoid a dog and struck a light pole.",
    "defective_brakes": "Unit 1 stated his brakes failed and he struck the back of Unit 2.",
    "pedestrian_failed_to_yield": "Unit 2, a pedestrian, darted into the roadway mid-block and was struck by Unit 1.",
    "cyclist_failed_to_yield": "Unit 2 was riding a bicycle and failed to yield at the intersection. Unit 1 struck Unit 2.",
}


def test_every_catalogue_factor_has_a_narrative():
    assert set(FACTOR_NARRATIVES) == {f.key for f in FACTORS}


@pytest.mark.parametrize("key", sorted(FACTOR_NARRATIVES))
def test_each_factor_is_recognised(key):
    assert key in factor_keys(FACTOR_NARRATIVES[key])


@pytest.mark.parametrize("text, key", [
    ("Unit 1 failed to obey a traffic control device (red light) and struck Unit 2.", "disregarded_signal"),
    ("unit 2 failed to obey the traffic signal and struck unit 1.", "disregarded_signal"),
    ("Unit 1 failed to obey a traffic control device (stop sign) and struck Unit 2.", "disregarded_stop_sign"),
    ("unit 1 failed to obey the posted stop sign and struck unit 2.", "disregarded_stop_sign"),
])
def test_failed_to_obey_names_the_control(text, key):
    """'failed to obey' without 'at'/'for': the control it names decides signal or stop sign."""
    assert key in factor_keys(text)


@pytest.mark.parametrize("text, key", [
    # a driver's own admission, however the sentence goes on ("... and could not stop in time")
    ("the driver of unit 1 said he wasn't paying attention and could not stop in time before striking unit 2.",
     "driver_inattention"),
    ("the driver of unit-1 advised he had fallen asleep, at which time his vehicle drifted off the roadway.", "fatigued"),
    ("unit #1 was unaware of the red light and unit #1 failed to control speed, striking unit #2.", "driver_inattention"),
    ("d1 stated she was checking her gps map and veered to the right, striking a curb.", "driver_inattention"),
])
def test_admitted_factors_are_read(text, key):
    assert key in factor_keys(text)


@pytest.mark.parametrize("text, key", [
    # the CR-3 factor names as officers write them out
    ("traffic ahead slowed. the operator of unit 1 failed to slow down, causing a collision with unit 2.",
     "failed_to_control_speed"),
    ("unit 1 turned when unsafe into the parking stalls and collided into unit 2.", "turned_improperly"),
    ("the driver made an incorrect left-hand turn and ran into a fence.", "turned_improperly"),
])
def test_cr3_factor_phrasings_are_read(text, key):
    assert key in factor_keys(text)


@pytest.mark.parametrize("text", [
    "the left lane was backed up with traffic. unit 1 turned into the center and unit 2 could not stop, striking unit 1.",
    "traffic was backed up in the turn lane, so unit 2 went to the stop sign and turned right, striking unit 1.",
])
def test_a_queue_backed_up_is_no_unit_backing(text):
    assert "backed_without_safety" not in factor_keys(text)
    assert primary_manner(extract_graph(text, "7")) != "backing"


def test_one_drivers_account_of_the_other_is_a_claim_only_when_disputed():
    disputed = ("units 1 and 2 were northbound. driver of unit 2 stated unit 1 made an unsafe lane change. "
                "driver of unit 1 stated unit 2 failed to drive in a single lane.")
    assert not {"unsafe_lane_change", "failed_single_lane"} & factor_keys(disputed)
    undisputed = "unit 2 driver said he saw unit 1 fail to drive in a single lane and struck his vehicle."
    assert "failed_single_lane" in factor_keys(undisputed)
    witness = "a witness behind unit 3 stated that unit 1 failed to drive in a single lane. unit 3 stated it was hit."
    assert "failed_single_lane" in factor_keys(witness)  # a witness is no party


def test_a_denial_after_the_factor_still_negates_it():
    assert "under_influence_alcohol" not in factor_keys("unit 1 struck unit 2. alcohol was not a factor in the crash.")


MANNER_NARRATIVES = {
    "rear_end": "V2 was stopped at a red light. The front of V1 contacted the back of V2.",
    "head_on": "V1 was traveling north and V2 was traveling south. The front of V1 struck the front of V2.",
    "angle": "V1 was traveling north. V2 was traveling east. The front of V1 impacted the left side of V2.",
    "left_turn": "Unit 1 was turning left at the intersection when the front of Unit 2 struck Unit 1.",
    "sideswipe_same": "Unit 1 and Unit 2 were traveling eastbound. The right side of Unit 1 contacted the left side of Unit 2.",
    "sideswipe_opposite": "Unit 1 was traveling north. Unit 2 was traveling south. The left side of Unit 1 sideswiped the left side of Unit 2.",
    "backing": "Unit 1 was backing out of a driveway and struck Unit 2.",
    "fixed_object": "Unit 1 departed the roadway to the right and struck a utility pole.",
    "rollover": "Unit 1 left the roadway, entered the ditch and rolled over several times.",
    "pedestrian": "Unit 1 struck a pedestrian who was crossing Main St.",
    "cyclist": "Unit 1 struck a bicyclist riding in the bike lane.",
    "animal": "Unit 1 was traveling south on FM 20. A deer ran onto the roadway and Unit 1 struck the deer.",
}


def test_every_catalogue_manner_has_a_narrative():
    assert set(MANNER_NARRATIVES) == {m.key for m in MANNERS}


@pytest.mark.parametrize("key", sorted(MANNER_NARRATIVES))
def test_each_manner_is_recognised(key):
    assert primary_manner(extract_graph(MANNER_NARRATIVES[key])) == key


def test_rear_end_cues_in_other_words():
    for text in ("Unit 1 struck the back of Unit 2.", "Unit 1 struck Unit 2 from behind.",
                 "V1's frontal plane struck the rear plane of V2.", "unit 1 fd impacted unit 2 bd."):
        assert primary_manner(extract_graph(text)) == "rear_end", text


def test_directions_in_shorthand_decide_the_sideswipe():
    text = "Unit 1 was trav. N/B. Unit 2 was trav. S/B. The left side of Unit 1 contacted the left side of Unit 2."
    assert primary_manner(extract_graph(text)) == "sideswipe_opposite"
    assert primary_manner(extract_graph(text.replace("S/B", "NB"))) == "sideswipe_same"


def test_passive_voice_swaps_actor_and_target():
    graph = extract_graph("The left side plane of V1 was impacted by the frontal plane of V2.", "9")
    collision = next(e for e in graph["events"] if e["type"] == "collision")
    assert (collision["actor"], collision["target"], collision["key"]) == ("9:U2", "9:U1", "angle")


def test_unit_spellings_name_the_same_unit():
    for text in ("Unit 1 struck Unit 2.", "unit #1 struck unit #2.", "U1 struck U2.", "V1 struck V2.",
                 "Veh 1 struck Veh 2.", "vehicle one struck vehicle two.", "Unit# 1 struck unit-2."):
        graph = extract_graph(text, "C")
        assert [e["id"] for e in graph["entities"] if e["type"] == "unit"] == ["C:U1", "C:U2"], text


def test_all_caps_narrative():
    text = "UNIT 1 FAILED TO CONTROL SPEED AND STRUCK THE BACK OF UNIT 2. NO INJURIES."
    assert extract_plan_lines(text) == ["1) failed to control speed -> rear-end collision | actors=U1 -> U2"]


def test_ocr_damaged_narrative():
    text = "Un1t 1 fa1led to c0ntrol speed and struck the back 0f unit 2.â  N0 injur1es."
    assert extract_plan_lines(text) == ["1) failed to control speed -> rear-end collision | actors=U1 -> U2"]
    text = "unit 2 fai|ed to yie|d right of way at the st0p sign and struck unit 1 on the left side"
    assert factor_keys(text) == {"yield_stop_sign"}


def test_abbreviations():
    assert factor_keys("Unit 1 FTCS and struck Unit 2.") == {"failed_to_control_speed"}
    assert factor_keys("U1 ftc speed & struck U2 in the rear.") == {"failed_to_control_speed"}
    assert factor_keys("U1 exiting a private drive FTYROW to U2.") == {"yield_private_drive"}
    assert factor_keys("unit 2 stopped for traffic unit 1 ftcsunit 1 struck the rear of unit 2") == {"failed_to_control_speed"}


def test_cris_factor_names_are_read_as_written():
    # "disregard stop and go signal" is CRIS's name for running the light, not the stop sign
    assert factor_keys("Unit 1 disregarded stop and go signal and struck Unit 2.") == {"disregarded_signal"}


def test_word_order_variants_of_failing_to_control_speed():
    for text in ("Unit 1 did not control his speed and struck Unit 2.",
                 "Unit 1 was cited for failure to control speed."):
        assert factor_keys(text) == {"failed_to_control_speed"}, text


def test_being_unable_to_stop_in_time_is_an_outcome_not_a_stated_cause():
    # an officer's "unable to stop in time" for a deer or a sudden stop blames no one (docs/labelling-guide.md)
    for text in ("Unit 1 was unable to stop in time and struck Unit 2.",
                 "Unit 1 could not stop before striking Unit 2.",
                 "Unit 2 failed to stop and render aid after the crash."):
        assert "failed_to_control_speed" not in factor_keys(text), text


def test_a_weakly_read_cause_stays_in_the_graph_but_not_in_the_plan():
    graph = extract_graph("Unit 1 failed to control speed and struck the rear of Unit 2.", "9")
    factor = next(e for e in graph["events"] if e["type"] == "factor")
    assert [step.cause for step in plan_steps_from_graph(graph)] == ["failed to control speed"]
    factor["confidence"] = PLAN_MIN_CONFIDENCE - 0.01  # measured precision below the plan's bar
    assert plan_steps_from_graph(graph) == []


def test_claims_and_escapes_are_not_causes():
    assert factor_keys("Driver unit 2 claimed that unit 1 failed to control speed and struck unit 2.") == set()
    assert factor_keys("An unidentified pickup reportedly ran a red light. Unit 1 struck the curb.") == set()
    assert factor_keys("Unit 1 swerved to the right to avoid a collision but still struck Unit 2.") == set()
    assert factor_keys("The officer photographed the scene with a department-issued cell phone.") == set()


def test_denied_factors_are_not_claimed():
    assert factor_keys("Unit 1 struck Unit 2. Alcohol was not a factor. The driver denied using a phone.") == set()


def test_multi_vehicle_chain():
    graph = extract_graph("V1 and V2 were stopped at the light. V3 struck the back of V2, which was pushed "
                          "into V1. The driver of V3 failed to control speed.", "77")
    collisions = [(e["actor"], e["target"], e["key"]) for e in graph["events"] if e["type"] == "collision"]
    assert collisions == [("77:U3", "77:U2", "rear_end"), ("77:U2", "77:U1", "rear_end")]
    factor = next(e for e in graph["events"] if e["type"] == "factor")
    assert factor["actor"] == "77:U3"
    assert graph["relationships"] == [{"type": "CAUSES", "source": factor["id"], "target": "77:E2"}]
    assert format_plan(plan_steps_from_graph(graph)) == [
        "1) failed to control speed -> rear-end collision | actors=U3 -> U2"]


def test_two_causes_give_two_plan_lines():
    lines = extract_plan_lines("Unit 1 was intoxicated, failed to control speed and struck the back of Unit 2.")
    assert lines == ["1) under the influence of alcohol -> rear-end collision | actors=U1 -> U2",
                     "2) failed to control speed -> rear-end collision | actors=U1 -> U2"]


@pytest.mark.parametrize("text", [
    "", "Unit 1 was traveling north on Main St. Unit 2 was parked on the east curb.",
    "Officers responded to a crash. No further information was available.",
])
def test_no_cause_gives_an_empty_plan(text):
    assert extract_plan_lines(text) == []


def test_collision_without_a_cause_stays_in_the_graph_but_not_in_the_plan():
    graph = extract_graph("The front of V1 contacted the back of V2.", "5")
    assert primary_manner(graph) == "rear_end"
    assert plan_steps_from_graph(graph) == []


def test_cause_without_a_stated_manner():
    assert extract_plan_lines("Unit 1 followed too closely and struck Unit 2.") == [
        "1) followed too closely -> rear-end collision | actors=U1 -> U2"]  # implied by the cause
    assert extract_plan_lines("Unit 1 was inattentive and collided with Unit 2.") == [
        "1) driver inattention -> collision | actors=U1 -> U2"]  # no manner invented


def test_graph_shape_ids_and_evidence_spans():
    text = "On the 1200 block of Main St, Unit 1 failed to control speed and struck the rear of Unit 2."
    graph = extract_graph(text, "0012", {"City": "Austin"})
    assert graph["Crash_ID"] == "0012" and graph["crash"] == {"City": "Austin"}
    assert {e["id"] for e in graph["entities"]} >= {"0012:U1", "0012:U2"}
    assert any(e["type"] == "road" for e in graph["entities"])
    for entity in graph["entities"]:
        start, end = entity["evidence_span"]
        assert text[start:end] == entity["text"]
    ids = [e["id"] for e in graph["events"]]
    assert ids == [f"0012:E{n}" for n in range(1, len(ids) + 1)]
    factor = graph["events"][0]
    assert factor["type"] == "factor" and factor["label"] == "failed to control speed"
    assert text[slice(*factor["evidence_span"])] == "failed to control speed"
    assert 0 < factor["confidence"] <= 1
    collision = graph["events"][1]
    assert text[slice(*collision["evidence_span"])] == "struck"
    assert (collision["actor"], collision["target"], collision["label"]) == ("0012:U1", "0012:U2", "rear-end collision")
    json.dumps(graph)  # serialisable as is


def test_spans_stay_aligned_after_non_ascii_text():
    text = "Café lot: â  Unit 1 ﬁrst backed into Unit 2."  # "ﬁ" is one character that lowers to one
    graph = extract_graph(text)
    event = next(e for e in graph["events"] if e["type"] == "factor")
    assert text[slice(*event["evidence_span"])] == "backed"


def test_pedestrian_and_fixed_object_entities():
    graph = extract_graph("Unit 1 struck a pedestrian, then struck a light pole.", "P")
    types = {e["type"] for e in graph["entities"]}
    assert {"unit", "pedestrian", "fixed_object"} <= types


def test_plan_lines_round_trip_through_parse_and_format():
    for text in FACTOR_NARRATIVES.values():
        lines = extract_plan_lines(text)
        assert format_plan(parse_plan(lines)) == lines
    steps = [PlanStep("failed to control speed", "rear-end collision", ("U1", "U2")),
             PlanStep("driver inattention", "collision")]
    assert parse_plan(format_plan(steps)) == steps


# ----------------------------------------------------------------------------- external graphs
def test_external_graph_with_plan_lines_is_used_as_is():
    graph = {"Crash_ID": "1", "plan_lines": ["1) speeding on wet road -> loss of control", " "]}
    assert plan_lines_from_external_graph(graph) == ["1) speeding on wet road -> loss of control"]


def test_external_graph_events_keep_their_free_text_labels():
    graph = {"Crash_ID": "1",
             "events": [{"id": "1:E1", "type": "cause", "label": "driver looking at GPS", "actor": "1:U1"},
                        {"id": "1:E2", "type": "collision", "label": "struck rear of stopped truck",
                         "target": "1:U2"}],
             "relationships": [{"type": "causes", "source": "1:E1", "target": "1:E2"}]}
    assert plan_lines_from_external_graph(graph) == [
        "1) driver looking at GPS -> struck rear of stopped truck | actors=U1 -> U2"]


def test_our_own_graph_read_back_as_external_gives_the_same_plan():
    graph = extract_graph(FACTOR_NARRATIVES["disregarded_signal"], "3")
    assert plan_lines_from_external_graph(json.loads(json.dumps(graph))) == format_plan(plan_steps_from_graph(graph))


def test_read_graphs_file(tmp_path):
    path = tmp_path / "crash_graphs.jsonl"
    path.write_text(json.dumps({"Crash_ID": 12, "events": []}) + "\n\n"
                    + json.dumps({"Crash_ID": "0013", "plan_lines": ["1) a -> b"]}) + "\n", encoding="utf-8")
    graphs = read_graphs_file(path)
    assert set(graphs) == {"12", "0013"}


def test_read_graphs_file_names_the_bad_line(tmp_path):
    path = tmp_path / "graphs.jsonl"
    path.write_text(json.dumps({"Crash_ID": "1"}) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"graphs\.jsonl, line 2: not valid JSON"):
        read_graphs_file(path)
    path.write_text(json.dumps({"events": []}) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"line 1: crash graph has no Crash_ID"):
        read_graphs_file(path)
    with pytest.raises(UserError, match="does not exist"):
        read_graphs_file(tmp_path / "missing.jsonl")


# ----------------------------------------------------------------------------- real and synthetic text
def test_real_ciss_development_rows():
    """A slice of the DEVELOPMENT half (even CASEID) of the real CISS file; the odd half is held out."""
    import csv

    path = shared_file("ciss_narratives_2017_2020.csv")
    hits = named = 0
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if int(row["CASEID"]) % 2 or row["MANCOLL"] == "9":
                continue
            manner = primary_manner(extract_graph(row["SUMMARY"]))
            if manner is not None:
                named += 1
                hits += MANNER_BY_KEY[manner].mancoll == int(row["MANCOLL"])
            if named == 400:
                break
    assert hits / named >= 0.85


def test_synthetic_noisy_crashes():
    from crashtransformer.prepare.synthetic import generator as synthetic

    tp = fp = fn = manner_hits = 0
    records = list(synthetic.generate_records(200, seed=5, noise=0.3))
    for record in records:
        graph = extract_graph(record.narrative, record.crash_id)
        found = {e["key"] for e in graph["events"] if e["type"] == "factor"}
        truth = set(record.metadata["factors"])
        tp, fp, fn = tp + len(found & truth), fp + len(found - truth), fn + len(truth - found)
        manner_hits += primary_manner(graph) == record.metadata["manner"]
    assert 2 * tp / (2 * tp + fp + fn) >= 0.9
    assert manner_hits / len(records) >= 0.9


def test_what_only_looks_like_an_avoided_collision_a_claim_or_a_unit_is_read_as_it_is():
    def collisions(text):
        return [(e["actor"], e["target"]) for e in extract_graph(text, "1", fallback=False)["events"]
                if e["type"] == "collision"]
    # unable to avoid it: the collision happened
    assert collisions("Unit 2 stopped suddenly. Unit 1 was unable to avoid striking unit 2.") == [("1:U1", "1:U2")]
    assert collisions("Unit 2 braked to avoid a collision with the car ahead.") == []
    # "the #2 travel lane" is a lane, not a unit; "a ladder from unit 2" did not strike unit 1
    graph = extract_graph("Unit 1 was traveling north in the #2 travel lane and struck a pole.", "1", fallback=False)
    assert [e["id"] for e in graph["entities"] if e["type"] == "unit"] == ["1:U1"]
    assert collisions("Unit 1 struck a ladder from unit 2 in the roadway.") == [("1:U1", "1:U2")]
    # a claim covers its own clause only
    assert factor_keys("Although the driver of unit 2 claimed he had a green light, video showed unit 2 "
                       "disregarded the red light and struck unit 1.") == {"disregarded_signal"}


def test_a_u_turn_is_a_movement_not_a_fault_and_its_failure_to_yield_is_the_left_turn_yield():
    assert "turned_improperly" not in factor_keys("Unit 2 missed the turn and began to turn left to make a u-turn. "
                                                  "Unit 1, behind Unit 2, struck Unit 2.")
    assert "turned_improperly" in factor_keys("Unit 1 made an illegal u-turn and struck Unit 2.")
    assert "yield_turning_left" in factor_keys("Unit 1 made a u-turn to go east, failed to yield right of way, and "
                                               "struck Unit 2.")


def test_units_parked_when_the_officer_arrived_were_not_parked_when_struck():
    narrative = ("Unit 2 stated that Unit 1 changed lanes when unsafe and struck Unit 2. I arrived to see both Unit 1 "
                 "and Unit 2 parked on a side street.")
    assert primary_manner(extract_graph(narrative, "7")) != "fixed_object"
