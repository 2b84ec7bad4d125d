"""The shared vocabulary of causes and collisions: canonical names used in plan lines.

The synthetic generator (prepare/synthetic/generator.py) writes narratives from these; the offline extractor
(plan/graph.py) recognises them; metrics (plan coverage) and the tagging task use the same keys.
Phrasings and patterns live with their users; only the canonical identity lives here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Factor:
    key: str  # stable identifier, used in spans, tests and metrics
    plan_text: str  # how the factor reads in a plan line: "1) <plan_text> -> <collision>"
    family: str  # a coarse group for reports (speed, yield, signal, lane, attention, ...)


@dataclass(frozen=True)
class Manner:
    key: str
    plan_text: str
    mancoll: int  # NHTSA CISS manner-of-collision code this manner falls under


FACTORS: tuple[Factor, ...] = (
    Factor("failed_to_control_speed", "failed to control speed", "speed"),
    Factor("unsafe_speed", "unsafe speed", "speed"),
    Factor("followed_too_closely", "followed too closely", "following"),
    Factor("yield_stop_sign", "failed to yield right of way at stop sign", "yield"),
    Factor("yield_turning_left", "failed to yield right of way turning left", "yield"),
    Factor("yield_yield_sign", "failed to yield right of way at yield sign", "yield"),
    Factor("yield_private_drive", "failed to yield right of way from private drive", "yield"),
    Factor("yield_pedestrian", "failed to yield right of way to pedestrian", "yield"),
    Factor("disregarded_signal", "disregarded traffic signal", "signal"),
    Factor("disregarded_stop_sign", "disregarded stop sign", "signal"),
    Factor("unsafe_lane_change", "changed lane when unsafe", "lane"),
    Factor("failed_single_lane", "failed to drive in single lane", "lane"),
    Factor("improper_passing", "passed unsafely", "lane"),
    Factor("wrong_way", "drove wrong way", "lane"),
    Factor("turned_improperly", "turned improperly", "turning"),
    Factor("driver_inattention", "driver inattention", "attention"),
    Factor("cell_phone", "distracted by cell phone", "attention"),
    Factor("under_influence_alcohol", "under the influence of alcohol", "impairment"),
    Factor("under_influence_drugs", "under the influence of drugs", "impairment"),
    Factor("fatigued", "fatigued or asleep", "impairment"),
    Factor("ill", "driver ill or medical condition", "impairment"),
    Factor("backed_without_safety", "backed without safety", "backing"),
    Factor("unsafe_start", "started unsafely from parked", "backing"),
    Factor("overcorrected", "overcorrected", "control"),
    Factor("faulty_evasive_action", "faulty evasive action", "control"),
    Factor("defective_brakes", "defective brakes", "vehicle"),
    Factor("pedestrian_failed_to_yield", "pedestrian failed to yield", "pedestrian"),
    Factor("cyclist_failed_to_yield", "cyclist failed to yield", "cyclist"),
)

MANNERS: tuple[Manner, ...] = (
    Manner("rear_end", "rear-end collision", 1),
    Manner("head_on", "head-on collision", 2),
    Manner("angle", "angle collision", 4),
    Manner("left_turn", "left-turn collision", 4),
    Manner("sideswipe_same", "sideswipe same direction", 5),
    Manner("sideswipe_opposite", "sideswipe opposite direction", 6),
    Manner("backing", "backing collision", 0),
    Manner("fixed_object", "fixed object collision", 0),
    Manner("rollover", "rollover", 0),
    Manner("pedestrian", "pedestrian struck", 0),
    Manner("cyclist", "cyclist struck", 0),
    Manner("animal", "animal struck", 0),  # deer, livestock: a common first harmful event in Texas
)

FACTOR_BY_KEY = {f.key: f for f in FACTORS}
MANNER_BY_KEY = {m.key: m for m in MANNERS}
FACTOR_BY_PLAN_TEXT = {f.plan_text: f for f in FACTORS}
MANNER_BY_PLAN_TEXT = {m.plan_text: m for m in MANNERS}

# CISS MANCOLL labels as they appear in ../shared/data/ciss_narratives_2017_2020.csv.
MANCOLL_LABELS = {
    0: "Not collision with motor vehicle in transport",
    1: "Rear-End",
    2: "Head-On",
    4: "Angle",
    5: "Sideswipe, Same Direction",
    6: "Sideswipe, Opposite Direction",
    9: "Unknown",
}


# ----------------------------------------------------------------------------- plan lines
# The seed's format: "1) failed to control speed -> rear-end collision", optionally followed
# by " | actors=U1 -> U2". format_plan and parse_plan round-trip exactly.

import re  # noqa: E402  (kept beside the only code that needs it)

_PLAN_LINE = re.compile(r"^\s*(\d+)\)\s*(?P<cause>.+?)\s*->\s*(?P<effect>.+?)(?:\s*\|\s*actors=(?P<actors>.*?))?\s*$")


@dataclass(frozen=True)
class PlanStep:
    cause: str  # a factor's plan_text, or free text from an external graph
    effect: str  # a manner's plan_text, or free text
    actors: tuple[str, ...] = ()  # acting unit first: ("U1", "U2")


def format_plan(steps: list[PlanStep]) -> list[str]:
    lines = []
    for number, step in enumerate(steps, start=1):
        line = f"{number}) {step.cause} -> {step.effect}"
        if step.actors:
            line += f" | actors={' -> '.join(step.actors)}"
        lines.append(line)
    return lines


def parse_plan(lines: list[str]) -> list[PlanStep]:
    """Plan lines back into steps; a line not in the format is kept whole as its cause."""
    steps = []
    for line in lines:
        match = _PLAN_LINE.match(line)
        if not match:
            steps.append(PlanStep(cause=line.strip(), effect=""))
            continue
        actors = tuple(a.strip() for a in (match["actors"] or "").split("->") if a.strip())
        steps.append(PlanStep(match["cause"], match["effect"], actors))
    return steps
