"""Collision events of a narrative and their manner (rear-end, angle, ...), from the words that
say it ("struck the back of"), the planes in contact ("the front of V1 contacted the left side of
V2", Texas damage codes `fd`/`rbq`), and the scene (plan/scene.py: who was stopped, who was
behind, directions, turns, lane changes, driveways). Used by plan/graph.py.

Each manner is decided by the first rule in `RULES` that gives one; the rule's name is kept with
the event (`rule`) and its measured precision is the event's confidence (plan/confidence.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from crashtransformer.plan import learned
from crashtransformer.plan import collision_patterns as cp
from crashtransformer.plan import patterns as pp
from crashtransformer.plan.confidence import manner_confidence
from crashtransformer.plan.narrative import TARGET_REACH, Factor, Mention, Narrative, subject_of
from crashtransformer.plan.scene import FACTOR_MANNER, Scene, parked_units, subjects_of

PRONOUN_OBJECT = re.compile(r"\s+(?:it|them|him|her|(?:his|her|their|its|the\s+other)\s+(?:vehicle|car|truck))\b")
WEAK_VERBS = ("ran", "push", "propel", "force", "shov", "knock", "roll", "contact", "engaged", "went", "drove",
              "driving", "veer", "slid", "skid", "sent", "travel", "continu", "came", "left")  # need a named object


@dataclass
class Collision:
    actor: str | None
    target: str | None
    start: int  # evidence: the verb that states the collision
    end: int
    manner: str | None
    rule: str  # the rule that named the manner ("" when none did)
    at_fault: str | None = None  # the unit the scene blames: who turned across, pulled out, struck from behind

    @property
    def confidence(self) -> float:
        return manner_confidence(self.rule)


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
    if not c.struck_parked:
        return None
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
    if cp.LEFT_TURN.search(c.story):
        return "left_turn"
    return "angle" if cp.TURNING.search(c.story) else None


def _planes(c: Clash) -> str | None:
    if len(c.parts) < 2:
        return None
    pair = set(c.parts[:2])
    if pair != {"front", "back"} and "back" not in pair and c.two_units and c.actor_changing_lanes \
            and c.relation in ("same", None):
        return "sideswipe_same"  # a lane change's front-to-side contact is a sideswipe, not an angle
    manner = manner_from_parts(c.parts[0], c.parts[1], c.relation, _turning(c), bool(cp.INTERSECTION.search(c.story)))
    if manner == "backing" and not cp.BACKING_ACTOR.search(c.context):
        manner = "angle" if "side" in c.parts[:2] else "rear_end"
    return manner


def _codes(c: Clash) -> str | None:
    match = cp.DAMAGE_CODES.search(c.clause)
    if not match:
        return None
    return manner_from_parts(cp.code_part(match["a"]), cp.code_part(match["b"]), c.relation, None)


def _backing(c: Clash) -> str | None:
    return "backing" if cp.BACKING_ACTOR.search(c.context) else None


def _lane_change(c: Clash) -> str | None:
    if c.two_units and c.actor_changing_lanes and c.relation in ("same", None) and not c.did(c.scene.left_turn, c.actor):
        return "sideswipe_same"
    return None


def _queue(c: Clash) -> str | None:
    """A unit struck while stopped, slowing or waiting ahead of the striker, or struck by the unit
    behind it: a rear-end, unless the two were crossing or one was turning or pulling out."""
    if not c.two_units or c.relation in ("crossing", "opposite"):
        return None
    scene, actor, target = c.scene, c.actor, c.target
    behind = (actor.key, target.key) in scene.behind
    if not behind and not scene.waiting(target.key, c.clause_end):
        return None
    if not behind and (c.did(scene.entering, actor) or c.did(scene.left_turn, actor) or c.did(scene.other_turn, actor)):
        return None
    return "rear_end"


def _rear_part(c: Clash) -> str | None:
    return "rear_end" if c.parts == ["back"] and c.target is not None else None


def _left_turn(c: Clash) -> str | None:
    if not c.two_units:
        return None
    for unit in (c.actor, c.target):
        if c.did(c.scene.left_turn, unit):
            return "angle" if c.did(c.scene.from_drive, unit) else "left_turn"  # out of a driveway: an angle
    return "left_turn" if cp.LEFT_TURN.search(c.context) else None


def _crossing(c: Clash) -> str | None:
    if not c.two_units:
        return None
    scene = c.scene
    pulled_out = c.did(scene.entering, c.actor) or c.did(scene.entering, c.target)
    turned = c.did(scene.other_turn, c.actor) or c.did(scene.other_turn, c.target)
    return "angle" if c.relation == "crossing" or pulled_out or turned else None


def _factor(c: Clash) -> str | None:
    """The manner the striking (or struck) unit's own stated fault leaves."""
    for key in c.actor_factors:
        manner = FACTOR_MANNER.get(key)
        if key == "failed_single_lane" and c.two_units:  # drifted into the next lane, or across the centre
            manner = {"opposite": "head_on" if c.parts[:2] == ["front", "front"] or not c.parts else "sideswipe_opposite",
                      "same": "sideswipe_same"}.get(c.relation or "")
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
         ("rollover", _rollover), ("planes", _planes), ("codes", _codes), ("backing", _backing),
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
    movements = {"left_turn": ("left_turn",), "angle": ("entering", "other_turn", "left_turn"),
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
        if turning:
            return turning
        return "sideswipe_opposite" if relation == "opposite" else "sideswipe_same"
    if "back" in pair:
        return "backing"
    return None


# ----------------------------------------------------------------------------- finding collisions
def find_collisions(doc: Narrative, factors: list[Factor], fallback: bool = True) -> list[Collision]:
    """Collision events in text order, each with its manner where a rule gives one; with
    `fallback`, the learned classifier (plan/learned.py) guesses when no rule does."""
    movers = {f.actor for f in factors if f.actor and f.key in pp.MOVING_FACTORS}
    parked = parked_units(doc) - movers if "park" in doc.norm or "unoccupied" in doc.norm or "unattended" in doc.norm else set()
    scene = Scene(doc)
    lone_unit = doc.lone_unit()
    collisions: list[Collision] = []
    for index, verb in enumerate(doc.verbs):
        sentence_start, sentence_end = doc.sentence(verb.start())
        actor, target = _parties(doc, verb, sentence_start, sentence_end)
        if actor is None and target is None:
            continue
        if actor is None and target is not None and target.kind in ("fixed_object", "animal"):
            actor = lone_unit  # "this caused the driver to drive off the road, striking the gas meter"
        clash = _clash(doc, scene, index, sentence_start, sentence_end, actor, target, parked, factors)
        manner, rule = classify(clash)
        collisions.append(Collision(actor.key if actor else None, target.key if target else None,
                                    verb.start(), verb.end(), manner, rule, fault_of(clash, manner)))
    if not any(c.manner for c in collisions):
        collisions[:0] = _single_unit_event(doc)
    if fallback and not any(c.manner for c in collisions):
        _learned_manner(doc, collisions)
    return collisions


def _learned_manner(doc: Narrative, collisions: list[Collision]) -> None:
    """The classifier's guess, on the first collision the text names (else the narrative as a whole)."""
    guessed = learned.guess(doc.text)
    if guessed is None:
        return
    manner, probability = guessed
    rule = learned.probability_bin(probability)
    if collisions:
        first = collisions[0]
        first.manner, first.rule = manner, rule
        if manner in pp.STRIKER_AT_FAULT and first.actor and doc.kind_of(first.actor) == "unit":
            first.at_fault = first.actor  # "unit 1 struck unit 2" read as a rear-end: the striker, as fault_of says
    else:
        collisions.append(Collision(None, None, 0, len(doc.text), manner, rule))


def _own_clause(doc: Narrative, index: int, sentence_start: int, sentence_end: int) -> str:
    """The verb's sentence up to the next collision verb in it: "...causing unit 2 to strike unit 1 in
    the front right side and pushing unit 1 into lane 3 rear ending unit 3" names no manner for the
    first collision. Only stated manner words are read from it: planes after the next verb often
    describe this same contact ("V1 struck V2, the front of V1 contacting the back of V2")."""
    end = sentence_end
    if index + 1 < len(doc.verbs) and doc.verbs[index + 1].start() < end:
        end = doc.verbs[index + 1].start()
    return doc.norm[sentence_start:end]


def _clash(doc, scene, index, sentence_start, sentence_end, actor, target, parked, factors) -> Clash:
    clause = doc.norm[sentence_start:sentence_end]
    context = doc.norm[doc.sentence(max(sentence_start - 1, 0))[0]:sentence_end]
    relation = scene.relation(actor.key if actor else None, target.key if target else None)
    if cp.OPPOSITE_DIRECTION.search(clause):
        relation = "opposite"
    elif cp.SAME_DIRECTION.search(context):
        relation = relation or "same"
    struck_parked = target is not None and target.kind == "unit" and target.key in parked and (
        actor is None or actor.key != target.key)
    actor_factors = tuple(f.key for f in factors if actor is not None and f.actor == actor.key)
    return Clash(doc, scene, clause, context, doc.norm[:sentence_end], actor, target, relation, sentence_end - 1,
                 struck_parked, actor_factors, _own_clause(doc, index, sentence_start, sentence_end))


def _single_unit_event(doc: Narrative) -> list[Collision]:
    """A first harmful event no collision verb names: a rollover, an animal, leaving the road."""
    for manner, pattern in (("rollover", cp.ROLLOVER), ("animal", cp.ANIMAL_STRUCK), ("fixed_object", cp.ROAD_DEPARTURE)):
        match = pattern.search(doc.norm)
        if match:
            subject = subject_of(doc, match.start())
            actor = subject.key if subject is not None and subject.kind == "unit" else None
            fault = actor if manner != "animal" else None  # a deer is nobody's fault unless the text says so
            return [Collision(actor, None, match.start(), match.end(), manner, manner + "_alone", fault)]
    return []


def _parties(doc: Narrative, verb, sentence_start: int, sentence_end: int):
    """(actor, target) of a collision verb: active, passive with "by", or passive without."""
    before = doc.norm[sentence_start:verb.start()]
    after = doc.norm[verb.end():sentence_end]
    subject = _subject_before(doc, sentence_start, verb.start())
    # "V2 was pushed into V1" names its object: only "was struck (by)" turns the roles round
    if cp.PASSIVE_BEFORE.search(before) and not verb.group().endswith(("into", "with")):
        if cp.BY_AFTER.match(after):  # "V2 was struck by V1"
            return _first_party_after(doc, verb.end(), sentence_end), subject
        # "U2 turned left into the path of U1 and was struck": the sentence's subject was hit
        agents = doc.agents_between(sentence_start, verb.start())
        if agents:
            target = agents[0]
            others = [a for a in agents if a.key != target.key]
            return (others[-1] if others else None), target
    reach = min(sentence_end, verb.end() + TARGET_REACH)
    if verb.group() in ("impact", "contact") and cp.FROM_AFTER.match(after):  # "unit 2 felt an impact from unit 1"
        striker = _first_party_after(doc, verb.end(), reach)
        if striker is not None and (subject is None or striker.key != subject.key):
            return striker, subject
    if verb.group().endswith("between"):  # "a collision between units 1 and 2"
        parties = doc.agents_between(verb.end(), reach, kinds=("unit", "pedestrian", "cyclist", "fixed_object", "animal"))
        if len(parties) >= 2:
            return parties[0], parties[1]
    target = _first_party_after(doc, verb.end(), reach)
    if target is None and subject is not None and PRONOUN_OBJECT.match(doc.norm, verb.end()):
        others = [a for a in doc.agents_between(sentence_start, verb.start()) if a.key != subject.key]
        target = others[-1] if others else None  # "struck it": the other unit the sentence named
    if target is None and verb.group().startswith(WEAK_VERBS):
        return None, None  # "ran into the roadway", "pushed into the lane": not a collision
    if target is not None and subject is not None and subject.key == target.key:
        others = [a for a in doc.agents_between(sentence_start, verb.start()) if a.key != target.key]
        subject = others[-1] if others else None  # "U1 was behind U2 and failed to see that U2 was stopped and collided with U2"
    if target is None and subject is not None:
        group = subjects_of(doc, verb.start())
        if len(group) >= 2:  # "units 1 and 2 collided": the first named struck the second
            return group[-1], group[-2]
    return subject, target


def _subject_before(doc: Narrative, start: int, position: int) -> Mention | None:
    parties = doc.agents_between(start, position)
    if len(parties) > 1 and pp.AND_THEN.match(doc.norm, parties[-1].end, position):
        return parties[0]  # "unit 1 was behind unit 2 and struck it": unit 1 struck
    return parties[-1] if parties else None


def _first_party_after(doc: Narrative, position: int, end: int) -> Mention | None:
    parties = doc.agents_between(position, end, kinds=("unit", "pedestrian", "cyclist", "fixed_object", "animal"))
    # "struck the back of V2": the struck party, not an object further along the sentence
    return parties[0] if parties else None
