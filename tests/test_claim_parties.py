"""The claim checker on who did what to whom: a rig's own trailer, the unit the narrative blames where
the graph reads no cause, a strike the narrative never tells or a contact it says was avoided, a private
drive it never names, and a turn where it names only a turn lane. Each narrative is written for the test
in the style of the CR-3 narratives, not copied from them."""

from __future__ import annotations

import pytest

from crashtransformer.metrics.claims import check_claims
from crashtransformer.plan.graph import extract_graph
from crashtransformer.plan.realize import realize_summary

RIG_STRUCK = ("Unit 1 and unit 2 that was towing unit 3 were south on the service road turning left. Unit 1 failed to "
              "maintain a single lane striking unit 3 with its right front quarter.")
RIG_OWN_TRAILER = ("Unit 1 was towing unit 2 west on the highway. Unit 3 was stopped past the stop line. Unit 1 swung "
                   "wide on the right turn and unit 2 sideswiped unit 3.")
PARKED = "Unit 2 was parked at the restaurant. Unit 1 was exiting the parking lot, cut the corner and collided with unit 2."


def claims(summary: str, narrative: str) -> list[tuple[str, str]]:
    return [(c.type, c.text) for c in check_claims(summary, narrative)]


def test_the_tower_is_not_the_unit_struck_where_its_trailer_was():
    assert ("unit", "striking Unit 2") in claims("Unit 1 failed to maintain a single lane, striking Unit 2.", RIG_STRUCK)
    assert claims("Unit 1 failed to maintain a single lane, striking Unit 3.", RIG_STRUCK) == []


def test_a_unit_does_not_yield_to_its_own_trailer():
    assert ("unit", "yield to Unit 2") in claims("Unit 1 failed to yield to Unit 2.", RIG_OWN_TRAILER)


def test_a_cause_the_graph_does_not_read_is_still_blamed_on_the_unit_it_faults():
    found = check_claims("Unit 2 failed to yield to Unit 1.", PARKED)
    assert [c.type for c in found] == ["blame"] and "U1" in found[0].reason
    assert check_claims("Unit 1 cut the corner and collided with Unit 2.", PARKED) == []


@pytest.mark.parametrize("summary, expected", [
    ("Unit 1 struck Unit 2.", [("unit", "struck Unit 2")]),
    ("Unit 1 and Unit 2 were involved in a minor crash in a private parking lot.", []),
])
def test_who_struck_whom_needs_the_narrative_to_say(summary, expected):
    assert claims(summary, "Unit 1 and unit 2 were involved in a minor accident in a private parking lot.") == expected


def test_a_private_drive_the_narrative_never_names_is_unsupported():
    narrative = ("Unit 1 was traveling east on 12th St. Unit 2, a pedestrian, was walking along 12th St. Unit 1 failed "
                 "to yield the right of way to the pedestrian and struck the pedestrian, unit 2.")
    assert ("conditions", "private drive") in claims("Unit 1 failed to yield while exiting a private drive.", narrative)
    assert claims("Unit 1 failed to yield while exiting a private drive.",
                  "Unit 1 was exiting a private drive and failed to yield to unit 2, striking it.") == []


def test_a_parked_car_is_no_fixed_object_in_words():
    narrative = ("Unit 1 was traveling south. Unit 2 was parked on the west side of the road. The front right of unit 1 "
                 "struck the front right of unit 2.")
    assert ("manner", "fixed object") in claims("Unit 1 and Unit 2 were in a collision with a fixed object.", narrative)
    assert claims("Unit 1 struck a fixed object.", "Unit 1 left the roadway and struck a utility pole.") == []


def test_the_failure_of_a_unit_to_yield_is_a_yield_claim():
    narrative = "Unit 2 was parked in the lot facing west and was struck by unit 1 causing minor damage."
    assert [c.type for c in check_claims("The cause was the failure of Unit 1's driver to yield.", narrative)] == ["factor"]


def test_the_graph_tells_a_parked_car_struck_without_a_cause_as_a_parked_vehicle():
    narrative = ("Unit 1 was traveling south on Lincoln St. Unit 2 was legally parked and unoccupied on the west side. "
                 "The front right of unit 1 struck the front right of unit 2.")
    summary = realize_summary(extract_graph(narrative, "7"), narrative, scene=False)
    assert summary == "Unit 1 was in a collision with Unit 2, a parked vehicle." and check_claims(summary, narrative) == []


def test_a_striker_named_far_from_its_verb_is_still_checked():
    narrative = ("Unit 1 was stopped at the stop sign. Unit 2 was traveling southeast. Unit 1 failed to yield row at the "
                 "stop sign, unit 2's front left struck unit 1's right front quarter.")
    assert ("unit", "striking Unit 2") in claims("Unit 1 failed to yield at a stop sign, striking Unit 2.", narrative)
    assert claims("Unit 1 failed to yield at a stop sign and was struck by Unit 2.", narrative) == []


def test_no_one_is_blamed_where_the_at_fault_unit_is_not_known():
    narrative = ("Unit 1 in lane 1 and unit 2 in lane 2 were westbound. Unit 2 may have changed lanes when unsafe and "
                 "unit 1 crashed into unit 2. Conflicting statements, no citations - at fault unit not known.")
    assert [c.type for c in check_claims("Unit 1 changed lanes unsafely, colliding with Unit 2.", narrative)] == ["blame"]


def test_a_unit_named_a_trailer_is_its_rigs_and_the_rig_is_not_the_unit_struck():
    narrative = ("Unit 2 and unit 3 (trailer) were facing north in the inside lane. Unit 1 was behind unit 2 and unit 3 "
                 "and failed to control speed. Unit 1 struck unit 3.")
    assert ("unit", "strike Unit 2") in claims("Unit 1 failed to control its speed, causing it to strike Unit 2.", narrative)
    assert claims("Unit 1 failed to control its speed, causing it to strike Unit 3.", narrative) == []


@pytest.mark.parametrize("narrative", [
    "Unit 1 was traveling south on Main St, posted 30 mph. Unit 2 was legally parked. Unit 1 struck unit 2.",
    "Unit 1 was pulling a trailer at the traffic light. Unit 2 was parked and unoccupied. Unit 1 struck unit 2.",
])
def test_a_fixed_object_needs_an_object_struck_not_a_word_inside_another(narrative):
    assert ("manner", "fixed object") in claims("Unit 1 struck a fixed object.", narrative)


def test_a_yield_to_a_rigs_tower_is_no_trailer_error_and_a_swap_is_one_claim():
    rig = "Unit 2 was towing unit 3 north through the intersection. Unit 1 failed to yield the right of way and struck unit 3."
    assert claims("Unit 1 failed to yield to Unit 2.", rig) == []
    swapped = "Unit 1 was stopped at the light. Unit 2 failed to control speed and struck unit 1."
    assert [c for c in claims("Unit 1 struck Unit 2.", swapped) if c[0] == "unit"] == [("unit", "struck Unit 2")]


@pytest.mark.parametrize("narrative", ["Unit 1 struck unit 2. Unit 1's visibility was severely impaired by fog.",
                                       "Unit 1 had impaired visibility and struck unit 2."])
def test_an_impaired_view_is_no_impaired_driver(narrative):
    assert [c.type for c in check_claims("Unit 1's impairment contributed to the crash.", narrative)] == ["impairment"]


def test_to_drive_forward_is_no_private_drive():
    narrative = "Unit 1 began to drive forward and struck unit 2 in the intersection."
    assert ("conditions", "private drive") in claims("Unit 1 was exiting a private drive.", narrative)


FTCS_BY_UNIT_2 = ("Unit 1 and Unit 2 were traveling south in the number one lane. Unit 1 was slowing with Unit 2 following "
                  "directly behind. Unit 2 failed to control speed running into Unit 1.")


def test_the_unit_inside_a_failure_of_is_the_one_blamed():
    found = claims("The root cause was the failure of Unit #1's driver to control their speed.", FTCS_BY_UNIT_2)
    assert [t for t, _ in found] == ["blame"]
    assert claims("The root cause was the failure of Unit #2's driver to control their speed.", FTCS_BY_UNIT_2) == []


def test_a_failure_to_maintain_attention_needs_a_cue():
    narrative = "Unit 2 stated he was rear ended by Unit 1 and Unit 1 kept driving."
    found = claims("The root cause was the failure of Unit 1's driver to maintain attention on the road.", narrative)
    assert ("factor", "failure of Unit 1's driver to maintain attention") in found


@pytest.mark.parametrize("narrative, supported", [
    ("Unit 1 hydroplaned and spun into the concrete barrier.", True),
    ("Unit 1 lost control on the wet road and struck the barrier.", True),
    # leaving the lane or the road is not a loss of control: a driver who dozed off or looked away left it too
    ("Unit 1 veered off the roadway and struck a tree.", False),
])
def test_a_loss_of_control_is_said_or_shown(narrative, supported):
    found = claims("Unit 1 lost control and struck the tree.", narrative)
    assert (not any(text == "lost control" for _, text in found)) == supported


def test_a_crossing_only_a_cause_implies_is_not_named():
    # the red light implies an angle, but the narrative never says how the units met
    narrative = "Unit 1 was traveling north. Unit 1 disregarded a red light and collided with Unit 2."
    summary = realize_summary(extract_graph(narrative, "7"), narrative)
    assert "angle" not in summary and summary.startswith("Unit 1 disregarded")


def test_a_phone_that_fell_in_the_crash_is_no_distraction():
    narrative = "Unit 2 stated he was rear ended by Unit 1. In the crash their phones fell into the floorboard."
    found = claims("The root cause was the failure of Unit 1's driver to maintain situational awareness.", narrative)
    assert any(t == "factor" and "awareness" in text for t, text in found)
    assert claims("Unit 1's driver was not paying attention.", "Unit 1 was talking on her phone and struck Unit 2.") == []


def test_no_skid_marks_show_no_loss_of_control():
    narrative = "Unit 1 drove off the road and struck a tree. The driver was unsure how it happened. No skid marks were observed."
    assert ("factor", "loss of control") in claims("The root cause was a loss of control by Unit 1.", narrative)
    assert claims("Unit 1 lost control.", "Unit 1 left skid marks and struck a tree.") == []


def test_a_turn_lane_is_no_turn():
    # unit 1 changed lanes into the left-turn lane unit 2 occupied: nobody is said to turn
    narrative = ("Unit 2 was traveling north in the left turn lane. Unit 1 was traveling north in the number 1 lane, "
                 "attempted to change lanes into the left turn lane and struck Unit 2.")
    found = claims("Unit 1 failed to yield while making a left turn. Unit 2 was in the left turn lane.", narrative)
    assert found == [("turn", "left turn")]  # the first sentence's turn; the lane the second names is no claim
    assert claims("Unit 1 made a left turn.", "Unit 1 was in the left turn lane and turned left onto Main.") == []


def test_a_unit_contact_was_avoided_with_was_not_struck():
    narrative = ("Unit 2 stopped across both lanes. To avoid the collision, Unit 1 swerved right and crashed into the "
                 "business sign. Unit 1 avoided contact with Unit 2. The crash was caused by Unit 2.")
    found = claims("Unit 1 failed to yield to Unit 2, resulting in a collision with Unit 2.", narrative)
    assert ("manner", "collision with Unit 2") in found and ("blame", "failed to yield") in found
    assert claims("Unit 1 struck a sign.", narrative) == []


def test_a_street_block_or_an_interview_shows_no_view():
    narrative = "Unit 1 was traveling in the 2400 block of Stevens Rd and struck a tree. During the interview he was unsure why."
    assert ("conditions", "visibility") in claims("The root cause was a loss of visibility.", narrative)
    assert claims("A parked truck blocked the view of Unit 1.", "A parked truck blocked Unit 1's view of the road.") == []


def test_a_unit_in_the_turn_lane_that_turned_made_the_turn():
    narrative = ("Unit 1 was southbound and stopped in the left turn lane. Unit 1 failed to yield the right of way to "
                 "Unit 2 while turning south onto Lake Rd.")
    assert claims("Unit 1 failed to yield the right of way while turning left.", narrative) == []
