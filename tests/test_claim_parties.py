"""The claim checker on who did what to whom: a rig's own trailer, the unit the narrative blames where
the graph reads no cause, a strike the narrative never tells, and a private drive it never names.
Each narrative is written for the test in the style of the CR-3 narratives, not copied from them."""

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
