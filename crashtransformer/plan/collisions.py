"""Collision events of a narrative and their manner (rear-end, angle, ...), from the words
that say it ("struck the back of"), the planes in contact ("the front of V1 contacted the left
side of V2"), the units' directions of travel and turns. Used by plan/graph.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from crashtransformer.plan import patterns as pp
from crashtransformer.plan.narrative import TARGET_REACH, Mention, Narrative, subject_of

WEAK_VERBS = ("ran", "push", "propel", "force", "shov", "knock", "roll", "contact", "engaged")  # need a named object


@dataclass
class Collision:
    actor: str | None
    target: str | None
    start: int  # evidence: the verb, widened to the sentence clause that states the manner
    end: int
    manner: str | None
    confidence: float


def _parts_in(text: str) -> list[str]:
    parts = []
    for match in pp.PART.finditer(text):
        group = match.lastgroup or ""
        parts.append(_CODE_PART[match.group()[0]] if group == "code" else group)
    return parts


def _unit_directions(doc: Narrative) -> dict[str, str]:
    """Each unit's travel direction, from the first direction stated in a sentence about it."""
    directions: dict[str, str] = {}
    for mention in doc.mentions:
        if mention.kind != "unit" or mention.key in directions:
            continue
        _, sentence_end = doc.sentence(mention.start)
        window = doc.norm[mention.end:min(sentence_end, mention.end + 80)]
        match = pp.DIRECTION.search(window)
        if match:
            word = match.group("d") or match.group("d2")
            directions[mention.key] = word[0]
    return directions


_AXIS = {"n": "ns", "s": "ns", "e": "ew", "w": "ew"}


def _relation(directions: dict[str, str], a: str | None, b: str | None) -> str | None:
    if a not in directions or b not in directions:
        return None
    da, db = directions[a], directions[b]
    if da == db:
        return "same"
    return "opposite" if _AXIS[da] == _AXIS[db] else "crossing"


def _manner_from_parts(first: str, second: str, relation: str | None, turning: str | None = None,
                       crossing_path: bool = False) -> str | None:
    """Manner from the two planes in contact, the units' travel directions and any turn."""
    pair = {first, second}
    if pair == {"front", "back"}:
        return "rear_end"
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


_CODE_PART = {"f": "front", "b": "back", "l": "side", "r": "side"}


def _manner_from_codes(text: str, relation: str | None) -> str | None:
    match = pp.DAMAGE_CODES.search(text)
    if not match:
        return None
    first, second = (_CODE_PART[match.group(g)[0]] for g in ("a", "b"))
    return _manner_from_parts(first, second, relation, None)


def _classify(doc: Narrative, clause: str, actor: Mention | None, target: Mention | None,
              relation: str | None, context: str, clause_end: int = 0,
              struck_parked: bool = False) -> tuple[str | None, float]:
    """The manner of one collision from its clause, its parties and the sentences around it."""
    target_kind = target.kind if target is not None else None
    if target_kind in ("pedestrian", "cyclist"):
        return target_kind, 0.9
    if actor is not None and actor.kind in ("pedestrian", "cyclist") and target_kind == "unit":
        return actor.kind, 0.85
    if target_kind == "unit" and (pp.PEDESTRIAN.search(clause) or pp.CYCLIST.search(clause)):
        # "struck Unit 2 as the pedestrian crossed": the unit is the person named beside it
        return ("pedestrian" if pp.PEDESTRIAN.search(clause) else "cyclist"), 0.75
    backing = pp.BACKING_ACTOR.search(context) is not None
    if struck_parked:
        return ("backing", 0.8) if backing else ("fixed_object", 0.8)
    if target_kind == "fixed_object":
        return "fixed_object", 0.85
    for manner, pattern in pp.EXPLICIT_MANNER:
        if pattern.search(clause):
            if manner == "sideswipe":
                return ("sideswipe_opposite" if relation == "opposite" or pp.OPPOSITE_DIRECTION.search(context)
                        else "sideswipe_same"), 0.9
            return manner, 0.95
    if target_kind is None and pp.ROLLOVER.search(clause):
        return "rollover", 0.85
    story = doc.norm[:doc.sentence(clause_end)[1]] if clause_end else context  # all told so far
    turning = "left_turn" if pp.LEFT_TURN.search(story) else "angle" if pp.TURNING.search(story) else None
    parts = _parts_in(clause)
    if len(parts) >= 2:
        manner = _manner_from_parts(parts[0], parts[1], relation, turning, bool(pp.INTERSECTION.search(story)))
        if manner == "backing" and not backing:
            manner = "angle" if "side" in parts[:2] else "rear_end"
        if manner:
            return manner, 0.9
    coded = _manner_from_codes(clause, relation)
    if coded:
        return coded, 0.8
    if backing:
        return "backing", 0.8
    if parts == ["back"]:
        return "rear_end", 0.8
    if pp.LEFT_TURN.search(context) and target_kind == "unit":
        return "left_turn", 0.75
    if parts == ["side"]:
        return "angle", 0.7
    if relation == "crossing":
        return "angle", 0.6
    if actor is not None and target is not None and _follows(doc, actor.key, target.key, clause_end):
        return "rear_end", 0.7
    return None, 0.0


def _follows(doc: Narrative, actor: str, target: str, until: int) -> bool:
    """Whether the story so far puts the actor behind the target ("U1 was directly behind U2")."""
    for match in pp.BEHIND.finditer(doc.norm, 0, until):
        sentence_start, _ = doc.sentence(match.start())
        before = doc.agents_between(sentence_start, match.start(), kinds=("unit",))
        after = doc.agents_between(match.end(), match.end() + 12, kinds=("unit",))
        if before and after and before[-1].key == actor and after[0].key == target:
            return True
    return False


def find_collisions(doc: Narrative, movers: set[str]) -> list[Collision]:
    """Collision events in text order; `movers` are units known to move (a parked one that
    pulls out is not a fixed object)."""
    collisions: list[Collision] = []
    directions = _unit_directions(doc)
    parked = _parked_units(doc) - movers
    for verb in doc.verbs:
        sentence_start, sentence_end = doc.sentence(verb.start())
        actor, target = _parties(doc, verb, sentence_start, sentence_end)
        if actor is None and target is None:
            continue
        struck_parked = target is not None and target.kind == "unit" and target.key in parked and (
            actor is None or actor.key != target.key)
        clause = doc.norm[sentence_start:sentence_end]
        context = doc.norm[doc.sentence(max(sentence_start - 1, 0))[0]:sentence_end]
        relation = _relation(directions, actor.key if actor else None, target.key if target else None)
        if pp.OPPOSITE_DIRECTION.search(clause):
            relation = "opposite"
        elif pp.SAME_DIRECTION.search(context):
            relation = relation or "same"
        manner, confidence = _classify(doc, clause, actor, target, relation, context, sentence_end - 1, struck_parked)
        collisions.append(Collision(actor.key if actor else None, target.key if target else None,
                                     verb.start(), verb.end(), manner, confidence))
    rollover = pp.ROLLOVER.search(doc.norm)
    if rollover and not any(c.manner for c in collisions):
        subject = subject_of(doc, rollover.start())
        collisions.insert(0, Collision(subject.key if subject else None, None, rollover.start(), rollover.end(),
                                        "rollover", 0.85))
    return collisions


def _parties(doc: Narrative, verb, sentence_start: int, sentence_end: int):
    """(actor, target) of a collision verb: active, passive with "by", or passive without."""
    before = doc.norm[sentence_start:verb.start()]
    after = doc.norm[verb.end():sentence_end]
    subject = _subject_before(doc, sentence_start, verb.start())
    # "V2 was pushed into V1" names its object: only "was struck (by)" turns the roles round
    if pp.PASSIVE_BEFORE.search(before) and not verb.group().endswith(("into", "with")):
        if pp.BY_AFTER.match(after):  # "V2 was struck by V1"
            return _first_party_after(doc, verb.end(), sentence_end), subject
        # "U2 turned left into the path of U1 and was struck": the sentence's subject was hit
        agents = doc.agents_between(sentence_start, verb.start())
        if agents:
            target = agents[0]
            others = [a for a in agents if a.key != target.key]
            return (others[-1] if others else None), target
    reach = min(sentence_end, verb.end() + TARGET_REACH)
    target = _first_party_after(doc, verb.end(), reach)
    if target is None and verb.group().startswith(WEAK_VERBS):
        return None, None  # "ran into the roadway", "pushed into the lane": not a collision
    return subject, target


def _subject_before(doc: Narrative, start: int, position: int) -> Mention | None:
    parties = doc.agents_between(start, position)
    return parties[-1] if parties else None


def _first_party_after(doc: Narrative, position: int, end: int) -> Mention | None:
    parties = doc.agents_between(position, end, kinds=("unit", "pedestrian", "cyclist", "fixed_object"))
    if not parties:
        return None
    # "struck the back of V2": the struck party, not an object further along the sentence
    return parties[0]


def _parked_units(doc: Narrative) -> set[str]:
    """Units said to be parked: "V3 was legally parked", "V2 and V3 were parked", "struck parked unit 2"."""
    parked = set()
    for match in pp.PARKED.finditer(doc.norm):
        named_after = doc.agents_between(match.end(), match.end() + 25, kinds=("unit",))
        if named_after and not doc.norm[match.end():named_after[0].start].strip(" ,(").startswith(("by", "at", "in")):
            parked.add(named_after[0].key)  # "parked unit 2", "a parked vehicle, unit 2"
            continue
        sentence_start, _ = doc.sentence(match.start())
        units = doc.agents_between(sentence_start, match.start(), kinds=("unit",))
        if not units:
            continue
        plural = doc.norm[units[-1].end:match.start()].lstrip().startswith("were")
        parked |= {u.key for u in units} if plural else {units[-1].key}
    return parked
