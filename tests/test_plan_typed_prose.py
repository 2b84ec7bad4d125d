"""Crash graphs on police prose as it is typed: misspellings, possessives without an apostrophe, a
follower told by "approaching the rear", and fault left open as typed.
Each narrative is written for the test in the style of the CR-3 narratives, not copied from them."""

from __future__ import annotations

import pytest

from crashtransformer.metrics.claims import check_claims
from crashtransformer.plan.graph import at_fault_unit, collision_roles, extract_graph, primary_manner


def _graph(narrative: str) -> dict:
    return extract_graph(narrative, "7", fallback=False)  # the rules alone: the learned guess must not hide a miss


@pytest.mark.parametrize("narrative, manner", [
    # a unit "approaching the rear" of one waiting at a stop sign follows it: not a unit pulling out
    ("Unit 1 was stopped at a stop sign facing west. Unit 2 was approaching the rear of Unit 1. Unit 2 was unable to "
     "stop before striking the rear of Unit 1.", "rear_end"),
    # "pedacyclist" is a cyclist, whatever the damage areas say
    ("Unit 1 was traveling west. A pedacyclist was crossing in the crosswalk. Unit 1 failed to yield right of way and "
     "collided left front quarter with the pedacyclist.", "cyclist"),
])
def test_the_manner_of_typed_prose(narrative, manner):
    assert primary_manner(_graph(narrative)) == manner


def test_a_lone_units_damaged_areas_are_no_sideswipe():
    # "right front quarter ... back right quarter" of one unit meet no other unit: no rule names a manner
    # from them, and the learned guess reads the divider the misspelling hides
    narrative = ("Unit 1 was traveling east when the vehicle hydroplaned and lost control hitting the concert divider "
                 "with its right front quarter and bounced off and hit with its back right quarter.")
    assert primary_manner(_graph(narrative)) is None
    assert primary_manner(extract_graph(narrative, "7")) == "fixed_object"


@pytest.mark.parametrize("narrative", [
    "Unit 1 was southbound. Unit 1 glanced away and struck unit 2s left side with its front end.",
    "Unit one was southbound. Unit one glanced away and struck unit twos rear bumper with its front end.",
])
def test_a_possessive_without_its_apostrophe_is_the_unit(narrative):
    assert collision_roles(_graph(narrative)) == {"U1": "striking", "U2": "struck"}


@pytest.mark.parametrize("narrative, fault", [
    # misspelt, still left open
    ("Unit 1 and Unit 2 merged into the new lane and collided. Looking at the damage and both stories it is "
     "undertermaned who was the striking vehicle.", None),
    ("Unit 2 said Unit 1 made a lane change into the middle lane. I was unable to dertemine who occupied the middle "
     "lane first. Unit 1 and Unit 2 collided.", None),
    # the officer's typed finding still blames
    ("Unit 1 failed to control speed and struck the back of Unit 2. Unit 1 was determined to be at fault.", "U1"),
])
def test_fault_left_open_as_typed(narrative, fault):
    assert at_fault_unit(_graph(narrative)) == fault


def test_a_unit_kept_from_yielding_did_not_fail_to_yield():
    graph = _graph("Unit 2 stopped at the stop sign and began across. Unit 1 was traveling at a very high rate of "
                   "speed, which deprived Unit 2 of the ability to yield right of way at the stop sign to Unit 1.")
    assert not [e for e in graph["events"] if e["type"] == "factor" and e["key"].startswith("yield")]


@pytest.mark.parametrize("narrative, factor", [
    ("Unit 1 had ample time to yield right of way to Unit 2 but turned left into its path and struck Unit 2.",
     "yield_turning_left"),
    ("Unit 1 had the chance to yield the right of way to Unit 2 but pulled out from the stop sign and struck Unit 2.",
     "yield_stop_sign"),
])
def test_a_unit_that_had_time_to_yield_and_did_not_failed_to(narrative, factor):
    graph = _graph(narrative)
    assert [e["key"] for e in graph["events"] if e["type"] == "factor"] == [factor] and at_fault_unit(graph) == "U1"


def test_the_probable_cause_is_a_hedge():
    narrative = "Unit 1 failed to control its speed and struck the back of Unit 2."
    claims = check_claims("Unit 1 failed to control speed. The probable cause was inattention.", narrative)
    assert any(c.type == "hedge" and c.text.lower() == "probable" for c in claims)
