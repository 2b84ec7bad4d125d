"""Crash graphs on Texas police prose: the scene (plan/scene.py), Texas damage codes, OCR damage,
at-fault unit and roles, measured confidences, the learned fallback, and our labels."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from conftest import REPO, shared_file
from crashtransformer.plan import learned
from crashtransformer.plan.catalogue import FACTOR_BY_KEY, MANNER_BY_KEY
from crashtransformer.plan.manner_rules import RULES
from crashtransformer.plan.confidence import UNMEASURED, _table, factor_confidence, manner_confidence
from crashtransformer.plan.graph import (at_fault_unit, collision_roles, extract_graph, extract_plan_lines,
                                         primary_manner)

LABELS = REPO / "data" / "labels" / "cris_crash_labels.jsonl"
BLIND = REPO / "data" / "labels" / "cris_crash_labels_blind.jsonl"
ROUND2 = REPO / "data" / "labels" / "cris_crash_labels_round2.jsonl"
ROUND3 = REPO / "data" / "labels" / "cris_crash_labels_round3.jsonl"
ROUND4 = REPO / "data" / "labels" / "cris_crash_labels_round4.jsonl"
ROUND4_BLIND = REPO / "data" / "labels" / "cris_crash_labels_round4_blind.jsonl"
ROUND5 = REPO / "data" / "labels" / "cris_crash_labels_round5.jsonl"
ROUND5_BLIND = REPO / "data" / "labels" / "cris_crash_labels_round5_blind.jsonl"


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def rules_only(text: str) -> dict:
    return extract_graph(text, "1", fallback=False)


# ----------------------------------------------------------------------------- the scene
@pytest.mark.parametrize("text, manner", [
    # the two examples: rear-ends that never say "rear"
    ("UNIT 2 WAS STOPPED AT THE RED LIGHT IN THE INSIDE LANE. UNIT 1 WAS BEHIND UNIT 2 AND STRUCK IT.", "rear_end"),
    ("unit 2 was waiting to turn left. unit 1 failed to control speed and collided with unit 2.", "rear_end"),
    ("units 2, 3 and 4 were stopped at the light. unit 1 failed to control speed and struck unit 2.", "rear_end"),
    ("unit 2 came to a complete stop due to heavy traffic and unit 1 collided with unit 2.", "rear_end"),
    ("unit 1 was traveling north. unit 2 was traveling east. unit 1 disregarded the red light and struck unit 2.", "angle"),
    ("unit 1 was exiting a private drive and turned left onto main st. unit 2 was traveling east on main st. "
     "unit 1 struck unit 2.", "angle"),  # a left turn out of a driveway crosses traffic: an angle
    ("unit 1 was traveling east and turned left into the path of unit 2, which was traveling west. "
     "unit 1 struck unit 2.", "left_turn"),
    ("unit 1 was traveling west in the left lane. unit 2 was traveling west in the right lane. "
     "unit 1 changed lanes when unsafe and struck unit 2.", "sideswipe_same"),
    ("unit 1 was backing out of a parking space and struck unit 2.", "backing"),
    ("unit 1 was traveling north and unit 2 was traveling south. unit 1 failed to drive in a single lane "
     "and collided with unit 2.", "head_on"),
    ("unit 1 was traveling south when a deer ran into the roadway. unit 1 struck the deer.", "animal"),
    ("unit 1 ran off the roadway and into a ditch.", "fixed_object"),
    ("unit 1 made contact with the center median cable railing.", "fixed_object"),
    ("unit 1 failed to control speed and failed to maintain its lane, causing unit 1 to go off the roadway and roll, "
     "coming to rest on its side.", "rollover"),
    # a turn told by the direction it ends in: southbound turning east is a left turn
    ("unit 1 was traveling north. unit 2 was traveling south, turning east at the green light. "
     "unit 1 disregarded the red signal and struck unit 2.", "left_turn"),
    ("unit 2 was traveling eastbound to turn northbound. unit 1 was traveling southbound. unit 1 struck unit 2.", "left_turn"),
    # a left turn into a lot stays a left turn; "business 83" is a road, not a business
    ("unit 2 was traveling north. unit 1 was facing south intending to make a left turn into the parking lot of a "
     "store. unit 1 failed to yield the right of way while turning left, causing unit 2 to hit unit 1.", "left_turn"),
    ("unit 1 was facing southbound. unit 1 made a left turn onto business 83 and collided with unit 2.", "left_turn"),
    # waiting in a left-turn lane, struck by a unit coming the other way
    ("unit 1 was traveling westbound. unit 2 was traveling eastbound in the left turn lane. unit 1 ran a red light "
     "and struck unit 2.", "left_turn"),
    # dual left-turn lanes: two units turning left side by side sideswipe
    ("unit 1 and unit 2 were traveling north. unit 1 was turning left from the inside lane. unit 2 was turning left "
     "from the outside lane. unit 2 failed to drive in a single lane and struck unit 1's left side.", "sideswipe_same"),
    # "rd." abbreviates the road: the lane change keeps its subject
    ("unit 2 was traveling s/b on preston rd. in the left lane. unit 1 was also traveling s/b preston rd. and was moving "
     "into the turn lane. unit 1 struck unit 2 on the left side.", "sideswipe_same"),
    ("unit 1 and unit 2 were traveling west. unit 1 reacted with evasive maneuvers and ended up lightly swiping "
     "unit 2.", "sideswipe_same"),
    # behind outweighs a direction read from another unit's traffic ("yielding to sb traffic")
    ("units 1 and 2 were traveling eastbound. unit 2 was stopped, yielding to sb traffic. unit 1 was behind unit 2 "
     "and struck unit 2.", "rear_end"),
    # "parked in the drive-through" with the striker behind it is a queue, not a parked car
    ("unit 2 was parked in the drive through. unit 1 was directly behind unit 2. unit 1 then struck unit 2.", "rear_end"),
    # a unit crossing the road crosses the path of the traffic on it; "stirking" is OCR's "striking"
    ("unit #1 was crossing valley ranch blvd and struck unit #2 who was traveling northbound.", "angle"),
    ("unit 2 was traveling west. unit 1 was exiting the lot and did not see unit 2, stirking unit 2 on the "
     "passenger side.", "angle"),
    # a reversing unit makes it a backing crash, whatever planes met
    ("unit 1 stopped for high water and reversed. the back of unit 1 struck the front of unit 2.", "backing"),
])
def test_the_scene_decides_the_manner(text, manner):
    assert primary_manner(rules_only(text)) == manner


@pytest.mark.parametrize("text, manner", [
    ("unit 1 fd struck unit 2 bd.", "rear_end"),
    ("u1 struck u2s bd with its fd.", "rear_end"),
    ("unit 1 was traveling west. unit 2 was traveling north. unit 1 hit unit 2 with her fd into unit 2's rbq.", "angle"),
    ("units 1 and 2 were traveling north. unit 1's rbq struck unit 2's lfq.", "sideswipe_same"),
])
def test_texas_damage_codes(text, manner):
    assert primary_manner(rules_only(text)) == manner


def test_ambiguous_codes_are_not_read_as_damage():
    """"rd" is a road and "fr" a frontage road unless they follow a unit: no manner from them."""
    assert primary_manner(rules_only("unit 1 was traveling on the w fr near 5400 vista rd.")) is None


@pytest.mark.parametrize("text", [
    "NIT 2 WAS STOPPED FOR TRAFFIC ON IH 35 NB. NIT 1 WAS TRAVELING NB BEHIND UNIT 2 AND STRUCK UNIT 2.",
    "unit 2 was stopped for traffic on ih 35 nb. unit 1 was traveling nb behind\nunit 2 and struck unit 2.",
    "UNIT 2 WAS STOPPED FOR TRAFFIC. FA CT ORS & CONDITIONS UNIT 1 WAS BEHIND UNIT 2 AND STRUCK UNIT 2.",
])
def test_ocr_damage_all_caps_broken_lines_and_form_labels(text):
    graph = rules_only(text)
    assert primary_manner(graph) == "rear_end"
    assert collision_roles(graph) == {"U1": "striking", "U2": "struck"}


def test_a_single_line_break_does_not_end_the_sentence_but_a_blank_line_does():
    joined = rules_only("unit 1 was traveling behind\nunit 2 and struck unit 2.")
    assert collision_roles(joined) == {"U1": "striking", "U2": "struck"}
    apart = rules_only("unit 1 was traveling north.\n\nunit 2 struck a pole.")
    assert {e["actor"] for e in apart["events"] if e["type"] == "collision"} == {"1:U2"}


def test_standing_still_is_a_stopped_unit_not_a_pedestrian():
    graph = rules_only("unit 2 was standing still in the middle lane. unit 1 failed to control its speed and struck unit 2.")
    assert primary_manner(graph) == "rear_end"
    assert not [e for e in graph["entities"] if e["type"] == "pedestrian"]


# ----------------------------------------------------------------------------- who is to blame
@pytest.mark.parametrize("text, fault", [
    ("unit 1 was behind unit 2 at the light and failed to control its speed, colliding with unit 2.", "U1"),
    ("unit 1 was traveling eastbound on the 7700 block of the westpark twy. and failed to control speed, "
     "striking unit 2.", "U1"),  # "twy." ends no sentence for the subject
    ("unit 2 was traveling east. unit 1 turned left into the path of unit 2 and unit 2 struck unit 1.", "U1"),
    ("unit 2 was stopped at the light. unit 1 struck unit 2 in the back.", "U1"),
    ("unit 1 was traveling south when a deer ran into the roadway. unit 1 struck the deer.", None),
    # "w." abbreviates the road, it ends no sentence: the collision keeps its subject
    ("vehicle-2 was stopped on w. sh-29. vehicle-1 was also eastbound on w. sh-29 and collided into the rear "
     "of vehicle-2.", "U1"),
    # a collision avoided is not the collision; "an impact from unit 1" names the striker
    ("unit 2 braked to avoid a collision with the car ahead. they then felt an impact from behind from unit 1.", "U1"),
    ("#1 was traveling nb on us 190 and failed to drive in a single lane, striking an embankment.", "U1"),  # bare "#1"
    # the narrative's only unit struck the meter, though the sentence does not name it
    ("unit # 1 was driving south. the windshield fogged and the driver drove off the road striking the gas meter.", "U1"),
    # a party's claim is not the officer's finding
    ("units 1 and 2 were eastbound. driver unit 2 claimed that unit 1 changed lanes when unsafe. unit 2 then "
     "struck the back of unit 1.", "U2"),
    ("unit #2 was southbound. unit #1 which was stopped at the stop sign of polanco st. fails to yield the right "
     "away causing unit #2 to strike unit #1.", "U1"),  # the sentence carries on the one before
    # OCR glued "him" to "unit 1": the factor is still unit 1's
    ("unit 2 slowed down due to traffic ahead of himunit 1 failed to control speed unit 1 hit unit 2.", "U1"),
    # a unit waiting "on a red light" ran none
    ("unit 2 had stopped on a red light. unit 1 was behind unit 2, did not stop and struck unit 2.", "U1"),
    # the relative clause's unit is the one who spoke
    ("unit 2 was coming to a stop. unit 1 driver who was traveling behind unit 2 advised she reached down to grab "
     "her water bottle. unit 1 rear ended unit 2.", "U1"),
    # "turns in front of unit 02 ... trying to make a left turn": unit 01 turned
    ("unit 02 was traveling southbound in lane one. unit 01 was traveling in the same direction in lane two. unit 01 "
     "turns in front of unit 02 from lane 02 trying to make a left turn. unit 02 struck unit 01.", "U1"),
    # the officer's own finding of fault outranks any reading of the scene
    ("unit 1 left a store lot as unit 2 went by, and they collided. the driver of unit 1 admitted she was at fault.", "U1"),
    ("unit 2 was distracted by her child and struck unit 1. unit 1 was found at fault for failing to yield.", "U1"),
    ("unit 1 and unit 2 collided in the lot. both drivers said they were at fault.", None),
    ("unit 1 struck unit 2. unit 2 stated unit 1 was at fault.", "U1"),  # an undisputed account stands, as for factors
    # a rig's towing unit answers for what its trailer strikes
    ("unit 1 (towing unit 2) made a right turn. unit 2 made a wide right turn and collided with unit 3.", "U1"),
    ("unit 3 was northbound. unit 1 with towed unit 2 drifted into the southbound lane and unit 2 struck unit 3.", "U1"),
    # a driver who strikes a person on foot, with no factor naming the person
    ("unit 1 was turning south out of the garage and hit the pedestrian crossing the street.", "U1"),
])
def test_at_fault_unit(text, fault):
    assert at_fault_unit(rules_only(text)) == fault


def test_a_learned_rear_end_blames_its_striker():
    graph = extract_graph("the light turned green and unit 1 thought unit 2 would move, but unit 1 struck unit 2.", "1")
    collision = next(e for e in graph["events"] if e["type"] == "collision")
    assert (collision["key"], collision["rule"][:8]) == ("rear_end", "learned:")  # no rule reads this one
    assert at_fault_unit(graph) == "U1"
    assert at_fault_unit(rules_only("unit 1 thought unit 2 would move, but unit 1 struck unit 2.")) is None


def test_passive_roles():
    graph = rules_only("unit 1 failed to yield the right of way and was struck by unit 2.")
    assert collision_roles(graph) == {"U2": "striking", "U1": "struck"}


# ----------------------------------------------------------------------------- confidence
def test_every_rule_and_factor_has_a_measured_confidence():
    table = _table()
    for name, _ in RULES:
        assert 0.0 < table["manner"][name] <= 1.0, name
    assert {key.split(":")[0] for key in table["factor"]} <= set(FACTOR_BY_KEY)
    assert factor_confidence("failed_to_control_speed") == table["factor"]["failed_to_control_speed:stated"]
    assert manner_confidence("a rule nobody measured") == UNMEASURED


def test_confidence_follows_the_rule_that_decided():
    graph = rules_only("unit 1 fd struck unit 2 bd.")
    event = next(e for e in graph["events"] if e["type"] == "collision")
    assert event["rule"] == "planes" and event["confidence"] == manner_confidence("planes")


# ----------------------------------------------------------------------------- the learned fallback


def test_fallback_guesses_only_where_no_rule_decides():
    assert learned.available()
    assert primary_manner(rules_only("unit 1 fd struck unit 2 bd.")) == "rear_end"
    text = "units 1 and 2 were involved in a crash on the freeway while traffic slowed."
    assert primary_manner(rules_only(text)) is None  # no rule decides this one ...
    manner, probability = learned.guess(text)  # ... the classifier does, at least MIN_PROBABILITY sure
    assert manner in MANNER_BY_KEY and learned.MIN_PROBABILITY <= probability <= 1.0
    event = next(e for e in extract_graph(text)["events"] if e["type"] == "collision")
    assert event["key"] == manner and event["rule"] == learned.probability_bin(probability)
    assert re.fullmatch(r"learned:0\.\d", event["rule"])


def test_a_learned_manner_never_enters_the_plan():
    text = "unit 1 was inattentive and collided with unit 2."
    graph = extract_graph(text)
    collision = next(e for e in graph["events"] if e["type"] == "collision")
    if collision["key"] is not None:
        assert collision["rule"].startswith("learned")
    assert extract_plan_lines(text) == ["1) driver inattention -> collision | actors=U1 -> U2"]


def test_fallback_off_keeps_to_the_rules():
    text = "unit 1 was inattentive and collided with unit 2."
    assert primary_manner(extract_graph(text, fallback=False)) is None


# ----------------------------------------------------------------------------- our labels
def test_labels_are_well_formed_and_keyed_by_hash():
    labels, round2, round3, round4, round5 = read(LABELS), read(ROUND2), read(ROUND3), read(ROUND4), read(ROUND5)
    assert len(labels) >= 400 and len(round2) >= 150 and len(round3) >= 150 and len(round4) >= 130 and len(round5) >= 130
    keys = [{label["narrative_sha256"] for label in rows} for rows in (labels, round2, round3, round4, round5)]
    assert sum(map(len, keys)) == len(set().union(*keys))  # no narrative in two rounds
    assert {b["narrative_sha256"] for b in read(ROUND4_BLIND)} <= keys[3]
    assert {b["narrative_sha256"] for b in read(ROUND5_BLIND)} <= keys[4]
    manners = set(MANNER_BY_KEY) | {"other", "unknown", "none"}
    for label in labels + round2 + round3 + round4 + round5 + read(ROUND5_BLIND):
        assert re.fullmatch(r"[0-9a-f]{16}", label["narrative_sha256"]), label
        assert label["manner"] in manners, label
        assert set(label["factors"]) <= set(FACTOR_BY_KEY), label
        assert label["at_fault"] is None or re.fullmatch(r"U\d+", label["at_fault"]), label
        assert set((label["roles"] or {}).values()) <= {"striking", "struck"}, label
    assert len({label["narrative_sha256"] for label in labels}) == len(labels)
    first = {label["narrative_sha256"] for label in labels}
    blind = read(BLIND)
    assert len(blind) >= 50 and {b["narrative_sha256"] for b in blind} <= first
    assert {b["labeller"] for b in blind} == {"B"}


def test_the_texas_development_split_holds_its_measured_level():
    """Regression floor on our Texas development labels (bench/bench_texas.py has the full tables)."""
    shared_file("cris_narratives_llm_summaries.csv")
    sys.path.insert(0, str(REPO / "bench"))
    import bench_texas

    texts = bench_texas.narratives_by_digest()
    dev = [label for label in bench_texas.read_labels() if bench_texas.in_split(label, "dev")]
    result = bench_texas.score(dev, texts)
    assert result["manner_coverage"] >= 0.93
    assert result["manner_correct_of_all"] >= 0.83
    assert result["factor_f1"] >= 0.87
    assert result["at_fault_accuracy"] >= 0.87


# ----------------------------------------------------------------------------- who struck, who is blamed
def _roles_and_fault(narrative: str) -> tuple[dict, str | None]:
    graph = extract_graph(narrative, "7")
    return collision_roles(graph), at_fault_unit(graph)


def test_an_officer_making_contact_is_not_a_collision():
    narrative = ("Upon arriving I contacted Unit 1, who stated she was looking to her right when she crashed into "
                 "the back of Unit 2. Unit 2 stated she was slowing for traffic when Unit 1 crashed into the back of her.")
    assert _roles_and_fault(narrative) == ({"U1": "striking", "U2": "struck"}, "U1")


def test_running_into_the_back_of_his_vehicle_strikes_the_unit_the_sentence_named():
    narrative = "Unit2 was in front of unit1. Unit2 was stopped in traffic when unit1 ran into the back of his vehicle."
    assert _roles_and_fault(narrative) == ({"U1": "striking", "U2": "struck"}, "U1")
    assert primary_manner(extract_graph(narrative, "7")) == "rear_end"


def test_the_unit_whose_part_struck_is_the_striker_when_no_unit_is_the_subject():
    narrative = ("Unit 1 was southbound behind Unit 2. The driver steered back to the right, striking Unit 2 on the "
                 "back left with the front right quarter panel of Unit 1.")
    assert _roles_and_fault(narrative) == ({"U1": "striking", "U2": "struck"}, "U1")


def test_a_failure_to_yield_with_no_catalogue_yield_still_blames_its_unit():
    narrative = ("Unit 1 failed to yield to oncoming traffic traveling north on Eagle Run Dr. Unit 1 was struck in "
                 "the passenger side by Unit 2.")
    graph = extract_graph(narrative, "7")
    assert not [e for e in graph["events"] if e["type"] == "factor"]  # no catalogue factor to state
    assert at_fault_unit(graph) == "U1"


def test_a_pedestrian_numbered_as_a_unit_can_be_the_one_blamed():
    narrative = ("Unit 1 was running westbound across IH 35. Unit 2 was traveling northbound. Unit 1 failed to yield "
                 "the right of way to oncoming traffic and was struck by Unit 2.")
    assert at_fault_unit(extract_graph(narrative, "7")) == "U1"


def test_a_one_unit_narratives_unnamed_driver_is_that_unit():
    narrative = ("Unit 1 was traveling south on US 83. The driver said she fell asleep and crossed into the median. "
                 "The vehicle rolled several times.")
    graph = extract_graph(narrative, "7")
    assert [(e["key"], e["actor"]) for e in graph["events"] if e["type"] == "factor"] == [("fatigued", "7:U1")]
    assert at_fault_unit(graph) == "U1"


def test_a_cause_leads_to_the_collision_its_unit_struck_not_the_one_it_was_struck_in():
    narrative = ("Unit 1 failed to control speed and collided with the back of Unit 2. Unit 2 followed too closely "
                 "and collided with the back of Unit 3. Unit 3 was stopped due to heavy traffic.")
    plan = extract_plan_lines(narrative)
    assert any(line.startswith("2) followed too closely") and line.endswith("actors=U2 -> U3") for line in plan), plan


def test_the_first_period_of_u_s_highway_ends_no_sentence():
    narrative = ("Unit 2 was traveling west approaching the intersection. Unit 1 was facing east in the turn lane. "
                 "Unit 1 turned left onto U.S. Hwy. 83 without stopping, and made contact with Unit 2.")
    graph = extract_graph(narrative, "7")
    assert collision_roles(graph) == {"U1": "striking", "U2": "struck"}


def test_moving_into_a_place_is_no_collision_with_the_unit_named_after_it():
    narrative = ("Unit 2 saw Unit 1 swerving behind her. Unit 2 went to move into the shoulder to let Unit 1 pass. "
                 "The front of Unit 1 collided with the rear of Unit 2.")
    assert _roles_and_fault(narrative) == ({"U1": "striking", "U2": "struck"}, "U1")


def test_contact_made_between_two_parts_names_both_units():
    narrative = ("Unit 2 was southbound in the right lane. Unit 1 was southbound in the left lane and moved right. "
                 "Contact was made between the left front bumper and quarter area of Unit 1 and the right rear "
                 "passenger side of Unit 2.")
    graph = extract_graph(narrative, "7")
    assert primary_manner(graph) == "sideswipe_same"  # "right rear passenger side" is a side, not the back
    assert collision_roles(graph) == {"U1": "striking", "U2": "struck"}


def test_side_swept_and_an_officer_making_contact_with_a_driver():
    narrative = ("Upon arrival I made contact with the Unit 2 driver. Unit 1 and Unit 2 were westbound. Unit 1 drifted "
                 "and side-swept Unit 2.")
    graph = extract_graph(narrative, "7")
    assert primary_manner(graph) == "sideswipe_same"
    assert collision_roles(graph) == {"U1": "striking", "U2": "struck"}


def test_the_learned_guess_for_one_unit_striking_another_is_never_a_fixed_object():
    narrative = "the driver of unit 1 lost control near the pole and struck unit 2."
    assert learned.guess(narrative)[0] == "fixed_object"  # what the classifier alone would say
    assert primary_manner(extract_graph(narrative, "7")) != "fixed_object"


def test_a_cause_given_with_due_to_is_the_strikers():
    narrative = "All units were eastbound in the right lane. Unit 4 stopped for traffic. Unit 2 struck Unit 4 due to following too close."
    graph = extract_graph(narrative, "7")
    factor = next(e for e in graph["events"] if e["type"] == "factor")
    assert (factor["key"], factor["actor"]) == ("followed_too_closely", "7:U2")
    assert at_fault_unit(graph) == "U2"


def test_turning_into_a_unit_strikes_it_turning_into_a_place_does_not():
    assert _roles_and_fault("The driver of Unit 1 attempted to make a left turn. As Unit 2 was passing Unit 1, "
                            "Unit 1 turned into Unit 2.") == ({"U1": "striking", "U2": "struck"}, "U1")
    graph = extract_graph("Unit 1 turned into the parking lot beside Unit 2.", "7")
    assert not [e for e in graph["events"] if e["type"] == "collision" and e["rule"] != "" and
                not e["rule"].startswith("learned")]


@pytest.mark.parametrize("narrative", [
    # the sentence carries on the one before it
    "Unit 1 was traveling east on the 7700 block of the westpark twy. and failed to control speed, striking the rear of Unit 2.",
    # a pronoun subject: the unit the sentence before was about
    "The driver of Unit 1 stated she was not paying attention. She braked late and crashed into the back of Unit 2.",
    "Unit 2 braked for traffic. They then felt an impact from behind from Unit 1.",
])
def test_a_collision_whose_subject_is_carried_from_the_sentence_before(narrative):
    assert collision_roles(extract_graph(narrative, "7")) == {"U1": "striking", "U2": "struck"}


def test_strick_is_a_typing_slip_of_strike():
    graph = extract_graph("Unit 2 was in the inside lane when Unit 1 turned from the outside lane, causing Unit 2 to "
                          "strick Unit 1 from the rear.", "7")
    collision = next(e for e in graph["events"] if e["type"] == "collision")
    assert (collision["key"], collision["actor"], collision["target"]) == ("rear_end", "7:U2", "7:U1")


@pytest.mark.parametrize("narrative, manner", [
    # a collision only feared is none
    ("Unit 1 and Unit 2 were turning left side by side. The driver of Unit 1 was worried she would hit the median, "
     "so she moved right. Unit 1's front right struck Unit 2's left front quarter.", "sideswipe_same"),
    # within a sentence, the impact after "after" came first
    ("Unit 2 was traveling east when Unit 1 changed lanes when unsafe into its lane. Unit 2 was forced into the grass "
     "median after impacting Unit 1 from the rear.", "rear_end"),
    # pulling out onto the roadway is entering it
    ("Unit 1 pulled out onto the roadway after another driver waved it on. Unit 1 struck Unit 2 at low speed.", "angle"),
    # units coming toward each other meet front to back only in a turn
    ("Unit 1 was traveling north and turning left into the store. Unit 2 was traveling south. The front of Unit 2 "
     "struck the back of Unit 1.", "left_turn"),
    # a right turn from the wrong lane that meets its neighbour side to side sideswipes it
    ("Unit 2 was northbound in the #2 lane. Unit 1 was northbound in the #1 lane. Unit 1 made an illegal right turn "
     "from the wrong lane, colliding with Unit 2 (aoi: lp-lfq).", "sideswipe_same"),
    # "the merge lane" is a lane, not a lane change
    ("Unit 2 had stopped for a red light in the right lane. Unit 1 was behind Unit 2, did not stop and struck Unit 2, "
     "the driver of Unit 1 stating he thought he was in the merge right turn lane.", "rear_end"),
])
def test_the_manner_the_scene_gives(narrative, manner):
    assert primary_manner(extract_graph(narrative, "7")) == manner
