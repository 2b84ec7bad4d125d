"""Crash graphs read from who was waiting, who followed whom, which corners met, and the cause as the
officer words it. Each narrative is written for the test in the style of the CR-3 narratives, not
copied from them."""

from __future__ import annotations

import pytest

from crashtransformer.plan.graph import at_fault_unit, extract_graph, primary_manner


def _graph(narrative: str) -> dict:
    return extract_graph(narrative, "7", fallback=False)  # the rules alone: the learned guess must not hide a miss


def _factors(narrative: str) -> dict[str, str | None]:
    return {e["key"]: (e["actor"] or "").rsplit(":", 1)[-1] or None
            for e in _graph(narrative)["events"] if e["type"] == "factor"}


@pytest.mark.parametrize("narrative, manner", [
    # waiting at a sign is no movement across anyone's path: struck on the back end, a rear-end
    ("Unit 2 was stationary at the stop sign of the parking lot facing west. Unit 1 traveled west through the parking "
     "lot and struck Unit 2 on the back end.", "rear_end"),
    # the follower's front quarter on the leader's back quarter: an offset rear-end, not a turn's angle
    ("Unit 2 was traveling east attempting to turn right. Unit 1 was directly behind Unit 2. Unit 2 stopped for traffic "
     "and Unit 1's rfq made contact with Unit 2's lbq.", "rear_end"),
    # side to side on crossing roads is an angle, not a sideswipe
    ("Unit 2 was traveling eastbound on SH 199. Unit 1 was traveling southbound on FM 2210 and crossed in front of "
     "Unit 2. The left front quarter panel of Unit 2 struck the right front quarter panel of Unit 1.", "angle"),
    # a back corner into the front of the unit alongside: a sideswipe
    ("Unit 1 was traveling west in the right lane. Unit 2 was traveling west in the left lane next to Unit 1. Unit 1 "
     "failed to stay in a single lane and the back left corner of Unit 1 struck the front right quarter of Unit 2.",
     "sideswipe_same"),
    # a move into the next lane that ends in the contact
    ("Unit 1 and Unit 2 were traveling north. Unit 1 was in the center lane and Unit 2 was in the right lane. Unit 1 "
     "attempted to move to the right lane and struck Unit 2.", "sideswipe_same"),
    # a striker turning right into the back of the unit ahead in the turn lane crossed nobody's path
    ("Unit 2 was stationary in the right turn only lane. Unit 1 was traveling south entering the right turn lane. "
     "Unit 1 failed to control speed and struck Unit 2 on the back end.", "rear_end"),
    # the lane change met the other unit before the left turn it was made for
    ("Unit 2 was traveling s/b in the left lane. Unit 1 was also traveling s/b in the left lane and was moving into the "
     "turn lane to turn e/b into a parking lot. Unit 2 had to stop for traffic. Unit 1 struck Unit 2 on the back left "
     "quarter panel.", "sideswipe_same"),
    # "she" after a semicolon is the driver the sentence before named
    ("Unit 1 advised she was eastbound in the center lane; attempting to merge onto the freeway when she changed lanes "
     "and struck Unit 2 on the front passenger side quarter panel. Unit 2 was eastbound in the left lane.", "sideswipe_same"),
    # the mouth of a parking lot is a driveway: a left turn out of it is an angle
    ("Unit 1 was stopped at the intersection of a store parking lot and Bosque Blvd facing south. Unit 2 was traveling "
     "west on Bosque Blvd. Unit 1 failed to yield when turning left and hit Unit 2.", "angle"),
])
def test_the_manner_the_scene_gives(narrative, manner):
    assert primary_manner(_graph(narrative)) == manner


def test_followed_by_names_the_follower_after_it():
    narrative = ("Unit 2 followed by Unit 1 were in the right lane attempting to turn right. Unit 2 stopped and "
                 "Unit 1 struck Unit 2, rfq to lbq.")
    assert primary_manner(_graph(narrative)) == "rear_end"


@pytest.mark.parametrize("narrative", [
    # a unit's load or a piece of it struck the other: none of the catalogue's manners, and no guess either
    "Unit 1 was traveling north behind a pickup (Unit 2) with an unsecured load. One of the boxes fell off the back of "
    "Unit 2 and struck Unit 1 along the front passenger side.",
    "Unit 2 was traveling behind Unit 1. Unit 1's right front tire blew out, causing tire rubber to collide with "
    "Unit 2's windshield.",
])
def test_a_loose_load_or_part_is_no_collision_between_units(narrative):
    assert primary_manner(extract_graph(narrative, "7")) is None


@pytest.mark.parametrize("narrative, key", [
    ("Unit 1 and Unit 2 were traveling north. Unit 1 switched lanes when unsafe and made contact with Unit 2.",
     "unsafe_lane_change"),
    ("Unit 1 was in the middle lane and Unit 2 in the left lane. Unit 1 made an unsafe left lane change and made "
     "contact with Unit 2.", "unsafe_lane_change"),
    ("Unit 1 was at the stop sign facing east. Unit 1 proceeded failing to give row and Unit 2 collided with Unit 1.",
     "yield_stop_sign"),
    ("Unit 1 stopped at the stop sign. Unit 1 failed to yiled right of way from the stop sign, colliding with Unit 2.",
     "yield_stop_sign"),
    ("Unit 1 was traveling westbound and ran through the stop sign, impacting Unit 2.", "disregarded_stop_sign"),
    ("Unit 1 was traveling south and disregarded the stop light. Unit 1 collided into Unit 2.", "disregarded_signal"),
    ("Unit 2 slowed for traffic and Unit 1 struck it from behind. Unit 1 stated they were too close to Unit 2.",
     "followed_too_closely"),
    ("Unit 1 failed to control speed and struck Unit 2. Unit 1 driver advised she was looking down at her phone.",
     "cell_phone"),
    ("Driver of Unit 1 was distracted by use of his cellular / gps device. Unit 1 struck Unit 2 from behind.",
     "cell_phone"),
])
def test_a_cause_in_the_officers_words(narrative, key):
    factors = _factors(narrative)
    assert factors.get(key) == "U1"
    if key == "cell_phone":
        assert "driver_inattention" not in factors  # one distraction: the phone


def test_a_trucks_tailgate_is_no_tailgating():
    narrative = ("Unit 1 failed to control his speed and made contact with Unit 2, which struck Unit 3, making "
                 "contact with the tailgate.")
    assert "followed_too_closely" not in _factors(narrative)


def test_the_unit_inside_a_failure_of_is_the_one_that_failed():
    narrative = "Unit 2 was stopped in traffic. The failure of Unit 1's driver to control speed caused him to strike Unit 2."
    assert _factors(narrative).get("failed_to_control_speed") == "U1"


def test_the_unit_driven_around_is_not_the_one_that_passed():
    narrative = ("Unit 01 was traveling north. Unit 02 was in front of Unit 01. Unit 01 drove around Unit 02 in a no "
                 "passing zone and slammed on his brakes. Unit 02 rear ended Unit 01.")
    graph = _graph(narrative)
    passing = next(e for e in graph["events"] if e["key"] == "improper_passing")
    assert passing["actor"].endswith(":U1") and passing["target"].endswith(":U2")  # the other party, not itself


def test_the_unit_a_passive_finding_names_is_at_fault():
    from_graph = at_fault_unit(_graph("Unit 1 swerved to avoid Unit 2 and struck a sign. The crash was caused by Unit 2."))
    assert from_graph == "U2"
    assert at_fault_unit(_graph("Unit 1 struck a sign. The crash was caused by a deer in the road.")) != "U2"


def test_a_yield_into_a_left_turn_lane_is_no_left_turn():
    narrative = ("Unit 2 was traveling north in the left turn lane. Unit 1 was traveling north in the number 1 lane and "
                 "attempted to change lanes into the left turn lane. Unit 1 ftyrow while changing lanes and struck Unit 2.")
    assert "yield_turning_left" not in _factors(narrative)
    assert "yield_turning_left" in _factors("Unit 1 was turning left from the left turn lane and failed to yield to Unit 2.")
