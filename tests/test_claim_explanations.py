"""The checker on the explanations LLM references add to a stated cause (metrics/claims.py): whose loss of
control, whose blame, a distraction, a yield in a queue, a skipped check, traction, a malfunction, a sudden
stop, busy traffic, the sign a unit stopped at, a denied impairment. Each case fails without its rule."""

from __future__ import annotations

from crashtransformer.metrics.claims import check_claims

REAR_END = ("Unit 1 was traveling north behind Unit 2. Unit 2 slowed for traffic. Unit 1 failed to control speed "
            "and struck the back of Unit 2.")


def found(summary: str, narrative: str) -> list[tuple[str, str]]:
    return [(claim.type, claim.text) for claim in check_claims(summary, narrative)]


def test_a_loss_of_control_belongs_to_the_unit_the_narrative_says_lost_it():
    narrative = ("Unit 1 was inattentive and struck the front left of Unit 2. The force of the impact caused Unit 2 "
                 "to lose control and collide with Unit 3.")
    assert ("blame", "loss of control") in found("Unit 1 was inattentive, resulting in a loss of control.", narrative)
    assert found("Unit 1 was inattentive and struck Unit 2, causing Unit 2 to lose control.", narrative) == []


def test_a_rolling_chunk_of_concrete_is_no_loss_of_control():
    narrative = ("Unit 1 was in the right lane and ran over a chunk of concrete. The concrete rolled into the "
                 "center of the lane. Unit 1 pulled to the shoulder.")
    assert found("Unit 1 ran over a chunk of concrete, resulting in a loss of control.", narrative) == [
        ("factor", "loss of control")]
    assert found("Unit 1 ran over the concrete, rolled over and came to rest on its roof.",
                 narrative + " Unit 1 rolled over onto its roof.") == []


def test_a_cause_pinned_on_the_part_of_another_unit_is_blame():
    narrative = ("Unit 1 was stopped at the stop sign. Unit 2 was traveling west. Unit 1 failed to yield the right of "
                 "way and struck Unit 2.")
    far = "Unit 1 failed to yield the right of way at the stop sign and struck Unit 2, a lapse on the part of the driver of {}."
    assert found(far.format("Unit 2"), narrative) == [("blame", "on the part of the driver of Unit 2")]
    assert found(far.format("Unit 1"), narrative) == []
    # next to its cause, the cause's own blame says it once
    assert found("Unit 1 failed to yield the right of way on the part of the driver of Unit 2.", narrative) == [
        ("blame", "failed to yield")]


def test_a_rear_end_collision_with_the_unit_that_struck_it_is_a_swapped_role():
    narrative = "Unit 1 was stopped at the red light. Unit 2 failed to control speed and struck the back of Unit 1."
    assert ("unit", "rear-end collision with Unit 2") in found(
        "Unit 1's failure to stop led to a rear-end collision with Unit 2.", narrative)
    assert found("Unit 2 failed to control speed, resulting in a rear-end collision with Unit 1.", narrative) == []


def test_distraction_needs_a_distraction_and_inattention_is_none():
    inattentive = "Unit 1 was inattentive and struck the back of Unit 2."
    assert found("Unit 1 was distracted and struck Unit 2.", inattentive) == [("factor", "distracted")]
    assert found("Unit 1 was distracted and struck Unit 2.", inattentive + " The driver looked down at her phone.") == []


def test_a_unit_striking_the_rear_of_a_queue_had_nothing_to_yield():
    # "to exit" is a scene that could hold a yield; the crash is a strike from behind
    queue = ("Unit 1 and Unit 2 were traveling west to exit the highway. Traffic slowed. Unit 1 failed to control speed "
             "and struck the back of Unit 2.")
    assert found("Unit 1 failed to yield to Unit 2, resulting in a collision.", queue) == [("factor", "failed to yield")]
    crossing = ("Unit 2 slowed to turn. Unit 1 pulled out of the private drive into the path of Unit 2 and failed to yield "
                "the right of way. Unit 2 struck Unit 1.")
    assert found("Unit 1 failed to yield to Unit 2.", crossing) == []


def test_a_skipped_check_or_an_error_of_judgment_needs_a_cue():
    claims = found("Unit 1 failed to control speed without checking for traffic, an error in judgment.", REAR_END)
    assert [kind for kind, _ in claims] == ["factor", "factor"]
    looked = REAR_END + " The driver of Unit 1 said he looked but did not see Unit 2."
    assert found("Unit 1 failed to control speed without checking ahead.", looked) == []


def test_traction_malfunction_sudden_stops_and_busy_traffic_need_their_words():
    assert [k for k, _ in found("Unit 1's tires lost traction and it struck Unit 2.", REAR_END)] == ["factor"]
    assert found("Unit 1's tires lost traction and it struck Unit 2.", REAR_END + " The road was wet.") == []
    assert [k for k, _ in found("A brake malfunction on Unit 1 led to the crash.", REAR_END)] == ["factor"]
    assert found("A brake malfunction on Unit 1 led to the crash.", REAR_END + " Unit 1's brakes failed.") == []
    assert [k for k, _ in found("Unit 2's sudden stop caused Unit 1 to strike it.", REAR_END)] == ["unit"]
    assert found("Unit 2's sudden stop caused Unit 1 to strike it.", REAR_END + " Unit 2 stopped suddenly.") == []
    assert [k for k, _ in found("Unit 1 struck Unit 2 in a busy lane.", REAR_END)] == ["conditions"]
    # a deer is as sudden as deer are: only a vehicle's stop or slowing is checked
    deer = "Unit 1 was traveling north. A deer ran across the road and Unit 1 struck the deer."
    assert found("Unit 1 struck a deer after its unexpected entry onto the road.", deer) == []


def test_a_stop_sign_needs_a_sign_and_a_traffic_control_device_is_any_sign_or_signal():
    queue = "Unit 1 and Unit 2 were traveling west. Traffic came to a stop when Unit 1 struck Unit 2."
    assert ("control", "stop sign") in found("Unit 1 struck Unit 2, which had stopped at the stop sign.", queue)
    sign = "Unit 1 disregarded the stop sign at the intersection and struck Unit 2."
    assert found("Unit 1 ran the stop sign, ignoring the traffic control device, and struck Unit 2.", sign) == []
    assert found("Unit 1 ran the stop sign at the traffic signal and struck Unit 2.", sign) == [("control", "traffic signal")]


def test_a_state_belongs_to_the_unit_the_narrative_says_it_of():
    narrative = ("Unit 1 was traveling east in the right lane. Unit 2 changed lanes from the left lane into the right lane "
                 "and struck Unit 1.")
    assert ("unit", "change lanes") in found("Unit 2 struck Unit 1 after Unit 1 tried to change lanes.", narrative)
    assert found("Unit 1 was struck by Unit 2 after Unit 2 tried to change lanes.", narrative) == []


def test_an_impairment_the_narrative_rules_out_or_leaves_pending_is_unsupported():
    cleared = "Unit 1 left the road and struck a fence. The driver was determined not to be intoxicated."
    assert found("Unit 1 struck a fence while impaired.", cleared) == [("impairment", "impaired")]
    pending = "Unit 1 left the road and struck a fence. Intox results are pending."
    assert found("Unit 1 struck a fence while impaired.", pending) == [("impairment", "impaired")]
    assert found("Unit 1 struck a fence while impaired.", "Unit 1 struck a fence. The driver was intoxicated.") == []


def test_a_failure_to_obey_a_signal_is_blame_where_fault_was_left_open():
    narrative = ("Unit 2 said she had a green light and that Unit 1 must have run the red signal light. Unit 1 said she "
                 "had a green light. Due to conflicting stories and no independent witnesses, no citations were issued.")
    assert found("Unit 1 failed to obey a red traffic signal.", narrative) == [("blame", "failed to obey a red traffic signal")]


def test_entering_an_intersection_or_a_lone_run_off_the_road_gives_no_one_a_right_of_way():
    # investigator prose states no cause: a model's "failure to yield" there is invented
    both_entered = ("V1 was traveling north approaching a signal controlled intersection. V2 was heading west intending to "
                    "pass through it. V1 and V2 entered the intersection at the same time when the front of V1 contacted "
                    "the left side of V2.")
    assert [k for k, _ in found("The root cause was a failure to yield by vehicle 1.", both_entered)] == ["factor"]
    lone = ("V1 departed the right side of the roadway, struck a tree and then rolled over 1 quarter turn onto its left "
            "side. The vehicle then entered the roadway again.")
    assert [k for k, _ in found("Unit 1 failed to yield right-of-way.", lone)] == ["factor"]
    deer = "V1 was southbound. A deer entered the road from the north, striking the front of the vehicle."
    assert [k for k, _ in found("The driver of Vehicle 1 failed to yield right-of-way.", deer)] == ["factor"]
    # a unit pulling out of a drive, or one an unknown vehicle cut in front of, had one
    drive = "Unit 1 exited a private drive and pulled into the path of Unit 2. Unit 2 struck Unit 1."
    assert found("Unit 1 failed to yield to Unit 2.", drive) == []
    unknown = "Unit 2 was in the right lane. The unknow vehicle changed lanes to the right lane and collided with unit 2."
    assert found("The unknown vehicle failed to yield while changing lanes.", unknown) == []


def test_one_unit_on_both_sides_an_adjacent_lane_and_a_failed_tire_need_the_narrative():
    narrative = ("Vehicle 1 was traveling west approaching an intersection. Vehicle 2 was traveling east attempting a left "
                 "turn. The front of V2 contacted the right side of V1.")
    assert ("unit", "vehicle 2") in found("A vehicle (unit 2) failed to yield to vehicle 2.", narrative)
    crossing = ("V1 was eastbound on a 2 lane street, preparing to turn left. V2 was southbound on an intersecting "
                "street. The front of V2 collided into the left side of V1.")
    assert ("specifics", "adjacent lane") in found("Unit 2 struck Unit 1 in the adjacent lane.", crossing)
    assert found("Unit 2 struck Unit 1 in the adjacent lane.", "Unit 1 was in the left lane and Unit 2 in the right lane. "
                 "Unit 2 drifted and struck Unit 1.") == []
    curb = "V1 departed the roadway and the right tire made contact with the curb. V1 struck a sign."
    assert found("The tire failed and V1 struck a sign.", curb) == [("factor", "tire failed")]
    assert found("The tires failed to maintain traction.", curb + " The road was wet.") == []
