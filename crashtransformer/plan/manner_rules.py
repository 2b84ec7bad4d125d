"""The manner of one collision (rear-end, angle, ...): a `Clash` holds a collision verb and
everything its manner is read from, and the first rule in `RULES` that gives a manner decides.
The rule's name is kept with the event (`rule`) and its measured precision is the event's
confidence (plan/confidence.py). The rules read the words that say it ("struck the back of"), the
planes in contact ("the front of V1 contacted the left side of V2", Texas damage codes
`fd`/`rbq`) and the scene (plan/scene.py). Used by plan/collisions.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from crashtransformer.plan import collision_patterns as cp
from crashtransformer.plan import patterns as pp
from crashtransformer.plan.narrative import Mention, Narrative
from crashtransformer.plan.scene import FACTOR_MANNER, RIGHT_TURN, SIDE_BY_SIDE, Scene


@dataclass
class Clash:
    """One collision verb and everything its manner is read from."""

    doc: Narrative
    scene: Scene
    clause: str  # the verb's sentence
    context: str  # that sentence and the one before
    story: str  # everything told up to the end of the sentence
    actor: Mention | None
    target: Mention | None
    relation: str | None  # same / opposite / crossing, from directions
    clause_end: int
    struck_parked: bool
    actor_factors: tuple[str, ...]
    own_clause: str  # the sentence up to the next collision verb: where a manner word names this collision

    @cached_property
    def parts(self) -> list[str]:
        parts = []
        for match in cp.PART.finditer(self.clause):
            group = match.lastgroup or ""
            parts.append(cp.code_part(match.group()) if group.startswith("code") else group)
        return parts

    @property
    def ends(self) -> list[str]:
        """The parts with each corner read as its end: "rfq" and "right front quarter" are the front."""
        ends = []
        for match in cp.PART.finditer(self.clause):
            text = match.group()
            if match.lastgroup == "side" or (match.lastgroup or "").startswith("code") and text.endswith("q"):
                code = text[:2] if text.endswith("q") and len(text) == 3 else ""
                if "front" in text or "f" in code:
                    ends.append("front")
                    continue
                if "back" in text or "rear" in text or "b" in code:
                    ends.append("back")
                    continue
            ends.append(cp.code_part(text) if (match.lastgroup or "").startswith("code") else match.lastgroup or "")
        return ends

    @property
    def two_units(self) -> bool:
        return self.actor is not None and self.target is not None and self.actor.kind == self.target.kind == "unit" \
            and self.actor.key != self.target.key

    def did(self, facts: dict[str, int], who: Mention | None) -> bool:
        return who is not None and who.key in facts and facts[who.key] < self.clause_end

    @property
    def actor_changing_lanes(self) -> bool:
        return self.did(self.scene.lane_change, self.actor) or bool(
            {"unsafe_lane_change", "improper_passing"} & set(self.actor_factors))


# ----------------------------------------------------------------------------- rules
def _party(c: Clash) -> str | None:
    kind = c.target.kind if c.target is not None else None
    if kind in ("pedestrian", "cyclist", "animal"):
        return kind
    if c.actor is not None and c.actor.kind in ("pedestrian", "cyclist") and kind == "unit":
        return c.actor.kind
    if kind == "unit" and (pp.PEDESTRIAN.search(c.clause) or pp.CYCLIST.search(c.clause)):
        return "pedestrian" if pp.PEDESTRIAN.search(c.clause) else "cyclist"  # "struck Unit 2 as the pedestrian crossed"
    return None


def _parked(c: Clash) -> str | None:
    if not c.struck_parked or (c.actor is not None and (c.actor.key, c.target.key) in c.scene.behind):
        return None  # "parked in the drive-through" with the striker behind it: a queue
    return "backing" if cp.BACKING_ACTOR.search(c.context) else "fixed_object"


def _fixed_object(c: Clash) -> str | None:
    return "fixed_object" if c.target is not None and c.target.kind == "fixed_object" else None


def _stated(c: Clash) -> str | None:
    for manner, pattern in cp.EXPLICIT_MANNER:
        if pattern.search(c.own_clause):
            if manner != "sideswipe":
                return manner
            opposite = c.relation == "opposite" or cp.OPPOSITE_DIRECTION.search(c.context)
            return "sideswipe_opposite" if opposite else "sideswipe_same"
    return None


def _rollover(c: Clash) -> str | None:
    return "rollover" if c.target is None and cp.ROLLOVER.search(c.clause) else None


def _turning(c: Clash) -> str | None:
    for unit in (c.actor, c.target):
        if c.did(c.scene.left_turn, unit):
            return _left_turn_out_of(c, unit)
    if cp.LEFT_TURN.search(c.story):
        return "left_turn"
    if _from_left_turn_lane(c) and cp.TURNING.search(c.story) and not RIGHT_TURN.search(c.story):
        return "left_turn"  # "u1 was nb in the left turn lane ... she began to turn": across the sb unit
    return "angle" if cp.TURNING.search(c.story) else None


def _planes(c: Clash) -> str | None:
    if len(c.parts) < 2 or (c.target is None and len(c.doc.units()) < 2):
        return None  # a lone unit's own damaged areas ("front right ... back right") met no other unit
    if c.did(c.scene.backing, c.actor) or c.did(c.scene.backing, c.target):
        return "backing"  # whatever planes met, a reversing unit makes it a backing crash
    if _follower_struck_leader(c):
        return "rear_end"  # "U1 was behind U2 ... U1's rfq made contact with U2's lbq": an offset rear-end
    if c.parts[:2] == ["back", "front"] and c.two_units and c.relation in ("same", None) and SIDE_BY_SIDE.search(c.story):
        return "sideswipe_same"  # "U2 in the left lane next to U1 ... U1's back left corner struck U2's front right"
    pair = set(c.parts[:2])
    if pair != {"front", "back"} and "back" not in pair and c.two_units and c.relation in ("same", None) \
            and (c.actor_changing_lanes or c.did(c.scene.lane_change, c.target)):
        return "sideswipe_same"  # a lane change's front-to-side contact is a sideswipe, not an angle
    manner = manner_from_parts(c.parts[0], c.parts[1], c.relation, _turning(c), bool(cp.INTERSECTION.search(c.story)))
    if manner == "backing" and not cp.BACKING_ACTOR.search(c.context):
        manner = "angle" if "side" in c.parts[:2] else "rear_end"
    return manner


def _follower_struck_leader(c: Clash) -> bool:
    """The unit said to be behind struck, front first, the unit ahead of it, which neither turned
    left across it nor changed lanes: a quarter or side it hit is the leader's back corner."""
    if not c.two_units or (c.actor.key, c.target.key) not in c.scene.behind or c.ends[:1] != ["front"]:
        return False
    if c.ends[1] == "front" or c.relation not in ("same", None) or c.actor_changing_lanes:
        return False
    return not (c.did(c.scene.left_turn, c.target) or c.did(c.scene.lane_change, c.target))


def _codes(c: Clash) -> str | None:
    match = cp.DAMAGE_CODES.search(c.clause)
    if not match:
        return None
    return manner_from_parts(cp.code_part(match["a"]), cp.code_part(match["b"]), c.relation, _turning(c))


def _backing(c: Clash) -> str | None:
    return "backing" if cp.BACKING_ACTOR.search(c.context) else None


_REAR_FAULTS = frozenset({"followed_too_closely", "failed_to_control_speed"})  # a rear-end's own faults


def _lane_change(c: Clash) -> str | None:
    if not c.two_units or c.relation not in ("same", None) or _turned_left_last(c):
        return None
    # the striker changed lanes, or struck a unit moving into its lane ("as unit 2 changed lanes unit 1 struck him")
    target_moved_over = c.did(c.scene.lane_change, c.target) and not c.scene.waiting(c.target.key, c.clause_end)
    if not (c.actor_changing_lanes or target_moved_over):
        return None
    if c.did(c.scene.from_drive, c.actor) or c.did(c.scene.from_drive, c.target):
        return None  # out of a lot "into the northbound lane", or into a passing unit: across traffic
    if c.relation is None and c.did(c.scene.into_intersection, c.target):
        return None  # merging as the other "was entering the intersection ... s/b": across its path, no shared lane
    if c.parts[:1] == ["back"]:
        return None  # changed lanes, then struck the back of the unit ahead: a rear-end
    if _REAR_FAULTS & set(c.actor_factors) and c.scene.waiting(c.target.key, c.clause_end) \
            and not c.did(c.scene.lane_change, c.target):
        return None  # changed lanes, then failed to control speed into a unit slowing ahead: the queue rule's
    return "sideswipe_same"


_INTENDED = re.compile(r"\bto\s+(?:turn|make\s+a\s+left)\b")  # a turn still to come


def _turned_left_last(c: Clash) -> bool:
    """The actor's left turn, unless it changed lanes after it ("made a left turn onto louise st and
    merged into the middle lane, striking unit 2"): then the lane change met the other unit."""
    scene, actor = c.scene, c.actor
    if not c.did(scene.left_turn, actor):
        return False
    turn, lane = scene.left_turn[actor.key], scene.lane_change.get(actor.key)
    if lane is not None and lane < turn and _INTENDED.search(c.doc.norm, max(0, turn - 12), turn + 12):
        return False  # "moving into the turn lane to turn e/b": the turn was still to come when the lane change met it
    return not (c.did(scene.lane_change, actor) and lane > turn)


def _queue(c: Clash) -> str | None:
    """A unit struck while stopped, slowing or waiting ahead of the striker, or struck by the unit
    behind it: a rear-end, unless the two were crossing or one was turning or pulling out."""
    if not c.two_units:
        return None
    scene, actor, target = c.scene, c.actor, c.target
    behind = (actor.key, target.key) in scene.behind  # "U1 was behind U2" outweighs a misread direction
    if not behind and c.relation in ("crossing", "opposite"):
        return None
    if not behind and not scene.waiting(target.key, c.clause_end) and not _struck_at_stop_sign(c):
        return None
    if not behind and (c.did(scene.entering, actor) or c.did(scene.left_turn, actor) or c.did(scene.other_turn, actor)):
        return None
    return "rear_end"


def _struck_at_stop_sign(c: Clash) -> bool:
    """"unit 2 was stopped at the stop sign ... unit 1 was following too close and crashed into unit 2":
    a unit waiting at a stop sign, struck by one going its way whose own fault is a rear-end's."""
    rear_fault = _REAR_FAULTS & set(c.actor_factors)
    return bool(rear_fault) and c.relation in ("same", None) and c.scene.stopped_at_stop_sign(c.target.key, c.clause_end)


def _rear_part(c: Clash) -> str | None:
    # a striker turning right into the back of the unit ahead in its turn crossed nobody: "struck unit 2 on the back end"
    if c.parts != ["back"] or c.target is None or c.relation in ("crossing", "opposite") or _cut_across(c, striker_turns=True):
        return None
    return "rear_end"


def _cut_across(c: Clash, striker_turns: bool = False) -> bool:
    """One unit pulled out, U-turned or turned right across the other, which was not behind it; a
    unit still waiting at its sign or to turn crossed nobody's path. `striker_turns`: the striker's
    own turn is no crossing."""
    scene, units = c.scene, (c.actor, c.target)
    if c.two_units and (c.actor.key, c.target.key) in scene.behind:
        return False
    return any((c.did(scene.entering, u) or c.did(scene.other_turn, u) and not (striker_turns and u is c.actor))
               and not scene.held_still(u.key, c.clause_end) for u in units if u is not None)


def _left_turn_out_of(c: Clash, unit: Mention | None) -> str:
    return "angle" if c.did(c.scene.from_drive, unit) else "left_turn"  # out of a driveway: an angle


def _both_turning_left(c: Clash) -> str | None:
    """Two units turning left side by side (dual turn lanes): the one leaving its lane sideswipes."""
    scene = c.scene
    side_by_side = c.relation == "same" or (c.relation is None and SIDE_BY_SIDE.search(c.story))
    if not c.two_units or not side_by_side or (c.parts and "side" not in c.parts[:2]):
        return None  # front to back is one turning unit behind another: a rear-end
    if (c.actor.key, c.target.key) in scene.behind or (c.target.key, c.actor.key) in scene.behind:
        return None
    return "sideswipe_same" if c.did(scene.left_turn, c.actor) and c.did(scene.left_turn, c.target) else None


def _left_turn(c: Clash) -> str | None:
    if not c.two_units:
        return None
    for unit in (c.actor, c.target):
        if c.did(c.scene.left_turn, unit):
            return _left_turn_out_of(c, unit)
    if _from_left_turn_lane(c):
        return "left_turn"
    return "left_turn" if cp.LEFT_TURN.search(c.context) else None


def _from_left_turn_lane(c: Clash) -> bool:
    """Units coming toward each other, one of them in a left-turn lane: waiting or turning across."""
    return c.relation == "opposite" and any(c.did(c.scene.in_left_turn_lane, unit) for unit in (c.actor, c.target))


def _crossing(c: Clash) -> str | None:
    if not c.two_units:
        return None
    scene = c.scene
    for movement in (scene.entering, scene.other_turn):
        if c.relation == "same" and all(c.did(movement, u) for u in (c.actor, c.target)):
            return None  # both turning or entering the same way, one behind the other: no path crossed
    pulled_out = c.did(scene.entering, c.actor) or c.did(scene.entering, c.target)
    turned = c.did(scene.other_turn, c.actor) or c.did(scene.other_turn, c.target)
    crossed = c.did(scene.crossing_road, c.actor) or c.did(scene.crossing_road, c.target)
    return "angle" if c.relation == "crossing" or pulled_out or turned or crossed else None


def _factor(c: Clash) -> str | None:
    """The manner the striking (or struck) unit's own stated fault leaves."""
    for key in c.actor_factors:
        manner = FACTOR_MANNER.get(key)
        if key == "failed_single_lane" and c.two_units:  # drifted into the next lane, or across the centre
            manner = {"opposite": "head_on" if c.parts[:2] == ["front", "front"] or not c.parts else "sideswipe_opposite",
                      "same": "sideswipe_same"}.get(c.relation or "")
        if key == "improper_passing" and c.relation == "opposite":  # passed into the oncoming lane
            manner = "head_on" if c.parts[:2] == ["front", "front"] else "sideswipe_opposite"
        if manner and (c.two_units or manner in ("backing",)):
            if key == "failed_to_control_speed" and c.relation in ("crossing", "opposite"):
                continue
            return manner
    return None


def _side_part(c: Clash) -> str | None:
    return "angle" if c.parts == ["side"] and c.target is not None else None


def _same_way(c: Clash) -> str | None:
    return "rear_end" if c.two_units and c.relation == "same" else None


RULES = (("party", _party), ("parked", _parked), ("fixed_object", _fixed_object), ("stated", _stated),
         ("rollover", _rollover), ("both_turning_left", _both_turning_left), ("planes", _planes), ("codes", _codes), ("backing", _backing),
         ("lane_change", _lane_change), ("queue", _queue), ("rear_part", _rear_part), ("left_turn", _left_turn),
         ("crossing", _crossing), ("factor", _factor), ("side_part", _side_part), ("same_way", _same_way))


def classify(clash: Clash) -> tuple[str | None, str]:
    """(manner, rule): the first rule that names a manner."""
    for name, rule in RULES:
        manner = rule(clash)
        if manner:
            return manner, name
    return None, ""


def fault_of(c: Clash, manner: str | None) -> str | None:
    """The unit a reader would blame for this collision from the scene alone (a stated factor,
    when there is one, decides instead: plan/graph.py at_fault_unit)."""
    units = [m for m in (c.actor, c.target) if m is not None and m.kind == "unit"]
    # a unit that pulled out of a drive outweighs one that "entered the turn lane"
    movements = {"left_turn": ("left_turn",),
                 "angle": ("from_drive", "entering", "other_turn", "left_turn", "crossing_road"),
                 "sideswipe_same": ("lane_change",), "backing": ("backing",)}.get(manner or "", ())
    for fact in movements:  # only the facts this manner needs are read
        moved = {u.key for u in units if c.did(getattr(c.scene, fact), u)}
        if len(moved) == 1:
            return moved.pop()
    if manner in pp.STRIKER_AT_FAULT and c.actor is not None and c.actor.kind == "unit":
        return c.actor.key
    return None


def manner_from_parts(first: str, second: str, relation: str | None, turning: str | None = None,
                      crossing_path: bool = False) -> str | None:
    """Manner from the two planes in contact, the units' travel directions and any turn."""
    pair = {first, second}
    if pair == {"front", "back"}:
        if relation == "opposite" and turning:
            return turning  # units coming toward each other meet front to back only when one turns across
        return "angle" if relation == "crossing" and not turning else "rear_end"
    if pair == {"front"}:
        if turning:
            return turning
        return "angle" if relation == "crossing" else "head_on"
    if pair == {"front", "side"}:
        if turning or relation not in ("same", "opposite") or (relation == "opposite" and crossing_path):
            return turning or "angle"
        return "sideswipe_same" if relation == "same" else "sideswipe_opposite"
    if pair == {"side"}:
        # a right turn from the wrong lane that meets the unit alongside side to side sideswipes it
        if turning and not (turning == "angle" and relation == "same"):
            return turning
        if relation == "crossing":
            return "angle"  # side to side on crossing roads: their paths met at an angle
        return "sideswipe_opposite" if relation == "opposite" else "sideswipe_same"
    if "back" in pair:
        return "backing"
    return None
