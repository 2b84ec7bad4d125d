"""Collision events of a narrative: each collision verb's parties (active, passive, "between",
"an impact from"), the clash its manner is read from (plan/manner_rules.py), and the first harmful
event when no verb names one (a rollover, an animal, leaving the road). Used by plan/graph.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crashtransformer.plan import collision_patterns as cp
from crashtransformer.plan import fault_patterns as fp
from crashtransformer.plan import learned
from crashtransformer.plan import patterns as pp
from crashtransformer.plan.confidence import manner_confidence
from crashtransformer.plan.manner_rules import Clash, classify, fault_of
from crashtransformer.plan.narrative import TARGET_REACH, Factor, Mention, Narrative, claimed, stated_fault, subject_of
from crashtransformer.plan.scene import Scene, parked_units, subjects_of

# "struck it", "ran into the back of his vehicle": the other unit, named earlier in the sentence
PRONOUN_OBJECT = re.compile(r"\s+(?:the\s+(?:back|rear|side)\s+(?:end\s+)?of\s+)?"
                            r"(?:it|them|him|her|(?:his|her|their|its|the\s+other)\s+(?:vehicle|car|truck))\b")
PRONOUN_SUBJECT = re.compile(r"\s*(?:then\s+)?(?:he|she|they|it)\b")
# "...; attempting to merge onto the freeway when she changed lanes and struck unit 2": the driver the sentence before named
PRONOUN_CLAUSE = re.compile(r"\b(?:when|as|while|and|then)\s+(?:he|she|they)\s+(?:\w+\s+){0,3}?$")
WITH_PART_OF = re.compile(r"\bwith\s+(?:the\s+|its\s+)?(?:[\w-]+\s+){1,8}?of\s+(?=\S)")
WEAK_VERBS = ("ran", "push", "propel", "force", "shov", "knock", "roll", "contact", "engaged", "went", "drove",
              "driving", "veer", "slid", "skid", "sent", "travel", "continu", "came", "left", "turn", "tuned")  # need a named object


# "both vehicles collided": the narrative's two units, with no word on who struck whom
BOTH_UNITS = re.compile(r"\bboth\s+(?:vehicles|units|cars|drivers|parties)\s+(?:\w+\s+){0,2}?$")
# "unit 1 failed to yield row to unit 2 causing the accident", "... causing front right end damage to unit 2":
# a collision no verb names, told by what one unit caused
CAUSED_CRASH = re.compile(r"\b(?:caus(?:ed|ing|es)|result(?:ed|ing)\s+in)\s+(?:(?:a|an|the)\s+(?:minor\s+)?(?:accident|crash|collision)\b"
                          r"|(?P<damage>(?:[\w/-]+\s+){0,5}?damage\s+to\b))")
# "... causing unit 2 to strike unit 1": the unit that caused it is the one to blame, not the striker
CAUSING_TO = re.compile(r"\bcaus(?:ed|ing|es)\s+(?:\w+\s+){1,4}?to\s+(?:\w+\s+){0,2}?$")
# A failure no catalogue key names; not leaving the scene ("failed to stop and give information") or the paperwork
# ("failed to establish financial responsibility", "failed to provide proof of insurance"), which caused nothing
FAILED_TO = re.compile(r"\b(?:(?:fail(?:ed|s|ing)?|neglected)\s+to|disregard(?:ed|s|ing)?)\s+(?!stop\s+(?:and|to)\s+"
                       r"|(?:give|render|exchange|provide|show)\s+(?:\w+\s+){0,2}?(?:information|info|insurance|identification|aid|proof)"
                       r"|(?:establish|renew|register|carry|report|return)\b|maintain\s+(?:financial|insurance|proof)|remain\s+at"
                       r"|identify\s+(?:him|her|them)sel)")
LOST_CONTROL = re.compile(r"\b(?:lost|lose|loses|losing)\s+(?:\w+\s+){0,2}?control\b")
NOT_BETWEEN_UNITS = frozenset({"fixed_object", "rollover", "animal", "pedestrian", "cyclist"})  # "unit 1 struck unit 2" is none of these


@dataclass
class Collision:
    actor: str | None
    target: str | None
    start: int  # evidence: the verb that states the collision
    end: int
    manner: str | None
    rule: str  # the rule that named the manner ("" when none did)
    at_fault: str | None = None  # the unit the scene blames: who turned across, pulled out, struck from behind
    fault_span: tuple[int, int] | None = None  # where the officer names the unit at fault (or leaves it open), which outranks any reading

    @property
    def confidence(self) -> float:
        return manner_confidence(self.rule)


# ----------------------------------------------------------------------------- finding collisions
def find_collisions(doc: Narrative, factors: list[Factor], fallback: bool = True) -> list[Collision]:
    """Collision events in text order, each with its manner where a rule gives one; with
    `fallback`, the learned classifier (plan/learned.py) guesses when no rule does."""
    movers = {f.actor for f in factors if f.actor and f.key in pp.MOVING_FACTORS}
    parked = parked_units(doc) - movers if "park" in doc.norm or "unoccupied" in doc.norm or "unattended" in doc.norm else set()
    scene = Scene(doc)
    lone_unit = doc.lone_unit()
    collisions: list[Collision] = []
    loose_object = False  # a load or part struck: the first harmful event is none of the catalogue's manners
    for index, verb in enumerate(doc.verbs):
        sentence_start, sentence_end = doc.sentence(verb.start())
        if cp.LOOSE_OBJECT_BEFORE.search(doc.norm, sentence_start, verb.start()):
            loose_object = loose_object or not collisions
            continue
        actor, target = _parties(doc, verb, sentence_start, sentence_end)
        if actor is None and target is None:
            continue
        if actor is None and target is not None and target.kind in ("fixed_object", "animal"):
            actor = lone_unit  # "this caused the driver to drive off the road, striking the gas meter"
        clash = _clash(doc, scene, index, sentence_start, sentence_end, actor, target, parked, factors)
        manner, rule = classify(clash)
        fault = _causer(doc, sentence_start, verb.start(), actor) or fault_of(clash, manner) or _lost_control(doc, actor, verb.start())
        collisions.append(Collision(actor.key if actor else None, target.key if target else None,
                                    verb.start(), verb.end(), manner, rule, fault))
    if not any(doc.kind_of(c.actor) == doc.kind_of(c.target) == "unit" for c in collisions if c.actor and c.target):
        collisions[:0] = _caused_crash(doc, scene, parked, factors)
    _put_earlier_impacts_first(doc, collisions)
    _blame_unplaced_failures(doc, collisions, factors)
    if not any(c.manner for c in collisions) and not loose_object:
        collisions[:0] = _single_unit_event(doc)
    if fallback and not loose_object and not any(c.manner for c in collisions):
        _learned_manner(doc, collisions)
    _officer_finding(doc, collisions)
    return collisions


def _caused_crash(doc: Narrative, scene: Scene, parked: set[str], factors: list[Factor]) -> list[Collision]:
    """The collision a unit "caused" when no verb names one between units: the damaged unit it names,
    else, in a two-unit crash, the other unit."""
    if "caus" not in doc.norm and "result" not in doc.norm or cp.NON_CONTACT.search(doc.norm):
        return []  # nothing caused, or the officer writes that the units never touched
    units = doc.units()
    for match in CAUSED_CRASH.finditer(doc.norm):
        start, end = doc.sentence(match.start())
        actor = _cause_of(doc, factors, start, match.start()) or _subject_before(doc, start, match.start())
        if actor is None or actor.kind != "unit":
            continue
        target = _first_party_after(doc, match.end(), min(end, match.end() + TARGET_REACH)) if match["damage"] else None
        if target is None and len(units) == 2:
            target = next(unit for unit in units if unit.key != actor.key)
        if target is None or target.key == actor.key:
            continue
        clash = _clash(doc, scene, len(doc.verbs), start, end, actor, target, parked, factors)
        manner, rule = classify(clash)
        fault = fault_of(clash, manner) or _lost_control(doc, actor, match.start())
        return [Collision(actor.key, target.key, match.start(), match.end(), manner, rule, fault)]
    return []


def _cause_of(doc: Narrative, factors: list[Factor], start: int, position: int) -> Mention | None:
    """The unit of the last fault stated in the sentence before `position`: "unit 1 failed to yield row
    to unit 2 causing the accident" was caused by unit 1, though unit 2 is named nearer."""
    stated = [(f.start, f.actor) for f in factors if f.actor] + [(at, unit) for unit, at in doc.unplaced_yields]
    before = sorted(cause for cause in stated if start <= cause[0] < position)
    if not before:
        return None
    return next((m for m in doc.mentions if m.key == before[-1][1]), None)


def _causer(doc: Narrative, sentence_start: int, position: int, actor: Mention | None) -> str | None:
    """"U1 cut across the lanes, causing U2 to strike U1": the unit whose act caused the striking."""
    causing = CAUSING_TO.search(doc.norm, max(sentence_start, position - 60), position)
    if causing is None or actor is None or actor.start < causing.start():
        return None  # only "causing unit 2 to strike": not "causing him to strike", whoever "he" is
    causer = _subject_before(doc, sentence_start, causing.start())
    if causer is None and causing.start() == sentence_start and sentence_start:  # "...into stripes.causing unit 2 to strike"
        previous = doc.agents_between(doc.sentence(sentence_start - 1)[0], sentence_start, kinds=("unit",))
        causer = previous[0] if previous else None
    if causer is None or causer.kind != "unit" or causer.key == actor.key:
        return None
    return causer.key


def _lost_control(doc: Narrative, actor: Mention | None, position: int) -> str | None:
    """A unit that lost control and then struck: it is the one blamed when nothing else is."""
    if actor is None or actor.kind != "unit" or "control" not in doc.norm:
        return None
    for match in LOST_CONTROL.finditer(doc.norm, 0, position):
        if any(unit.key == actor.key for unit in subjects_of(doc, match.start())):
            return actor.key
    return None


def _officer_finding(doc: Narrative, collisions: list[Collision]) -> None:
    """The unit the officer finds at fault, on the first harmful event (the first collision with a manner);
    or no unit, where the officer writes that fault could not be determined (conflicting statements)."""
    if not collisions:
        return
    stated = stated_fault(doc) if "fault" in doc.norm or "caused" in doc.norm else None
    left_open = fp.FAULT_LEFT_OPEN.search(doc.norm) if stated is None else None
    first = next((c for c in collisions if c.manner), collisions[0])
    if stated is not None:
        first.at_fault, first.fault_span = stated[0], stated[1:]
    elif left_open is not None:
        first.at_fault, first.fault_span = None, left_open.span()


def _put_earlier_impacts_first(doc: Narrative, collisions: list[Collision]) -> None:
    """"Unit 2 was forced into the median after impacting unit 1": within a sentence, a collision
    after "after" happened before the one named ahead of it."""
    for index in range(1, len(collisions)):
        here, before = collisions[index], collisions[index - 1]
        if doc.sentence(here.start) == doc.sentence(before.start) and \
                cp.AFTER_BEFORE.search(doc.norm, max(0, here.start - 20), here.start):
            collisions[index - 1], collisions[index] = here, before


def _blame_unplaced_failures(doc: Narrative, collisions: list[Collision], factors: list[Factor]) -> None:
    """A unit that "failed to yield" with no catalogue yield to name, or failed at something no
    catalogue key names ("failed to give one half of the roadway", "failed to secure its load"), is
    the one the first collision it is in blames, over the scene's reading; the first such failure
    stated wins. (A unit given a catalogue factor is blamed before any collision's reading,
    plan/graph.py at_fault_unit: then the failures no key names are not looked for.)"""
    named = any(f.actor for f in factors)
    failed = [unit for unit, _ in doc.unplaced_yields] + ([] if named else _failed_units(doc))
    blamed_by_failure: set[int] = set()
    for unit in dict.fromkeys(failed):
        first = next((c for c in collisions if unit in (c.actor, c.target)), None)
        if first is None or id(first) in blamed_by_failure or first.rule.startswith(("party", "parked")) and first.at_fault:
            continue
        first.at_fault = unit
        blamed_by_failure.add(id(first))


def yields_in_left_turns(doc: Narrative, collisions: list[Collision]) -> list[Factor]:
    """A bare "failed to yield" (no kind the text names) by the unit whose left turn the collision it is
    in was read as, and is blamed for: the failure to yield while turning left that a reader reports."""
    found = []
    for unit, start in dict(reversed(doc.unplaced_yields)).items():  # each unit's first failure
        first = next((c for c in collisions if unit in (c.actor, c.target) and c.manner), None)
        phrase = pp.FACTOR_RES["yield"].match(doc.norm, start)
        if first is not None and first.manner == "left_turn" and first.at_fault == unit and phrase:
            found.append(Factor("yield_turning_left", unit, phrase.start(), phrase.end(), "yield_manner"))
    return found


def _failed_units(doc: Narrative) -> list[str]:
    if "fail" not in doc.norm and "neglect" not in doc.norm and "disregard" not in doc.norm:
        return []
    # one party's word about the other ("driver of unit 1 stated unit 2 failed to ...") is a claim, not a finding
    subjects = (subject_of(doc, match.start()) for match in FAILED_TO.finditer(doc.norm) if not claimed(doc, match.start()))
    return [subject.key for subject in subjects if subject is not None and subject.kind == "unit"]


def _learned_manner(doc: Narrative, collisions: list[Collision]) -> None:
    """The classifier's guess, on the first collision the text names (else the narrative as a whole)."""
    first = collisions[0] if collisions else None
    between_units = first is not None and first.actor is not None and first.target is not None \
        and doc.kind_of(first.actor) == doc.kind_of(first.target) == "unit"
    guessed = learned.guess(doc.text, NOT_BETWEEN_UNITS if between_units else frozenset())
    if guessed is None:
        return
    manner, probability = guessed
    rule = learned.probability_bin(probability)
    if first is not None:
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
            others = [a for a in agents if a.key != target.key] or _other_unit(doc, target)
            return (others[-1] if others else None), target
    reach = min(sentence_end, verb.end() + TARGET_REACH)
    if verb.group() in ("impact", "contact") and cp.FROM_AFTER.match(after):  # "unit 2 felt an impact from unit 1"
        striker = _first_party_after(doc, verb.end(), reach)
        if striker is not None and (subject is None or striker.key != subject.key):
            return striker, subject
    if verb.group().endswith("between"):  # "a collision between units 1 and 2"
        # "contact was made between the left front bumper and quarter area of unit 1 and the right rear of unit 2"
        parties = doc.agents_between(verb.end(), min(sentence_end, verb.end() + 2 * TARGET_REACH),
                                     kinds=("unit", "pedestrian", "cyclist", "fixed_object", "animal"))
        if len(parties) >= 2:
            return parties[0], parties[1]
    target = _first_party_after(doc, verb.end(), reach)
    if target is None and subject is not None and PRONOUN_OBJECT.match(doc.norm, verb.end()):
        others = [a for a in doc.agents_between(sentence_start, verb.start()) if a.key != subject.key]
        target = others[-1] if others else None  # "struck it": the other unit the sentence named
    # "ran into the roadway"; "went to move into the shoulder to allow unit 1 to pass": a place first, no collision
    if verb.group().startswith(WEAK_VERBS) and (target is None or cp.PLACE.search(doc.norm, verb.end(), target.start)):
        return None, None
    if target is not None and subject is not None and subject.key == target.key:
        others = [a for a in doc.agents_between(sentence_start, verb.start()) if a.key != target.key]
        subject = others[-1] if others else None  # "U1 was behind U2 and failed to see that U2 was stopped and collided with U2"
    if target is None and subject is None and BOTH_UNITS.search(before):
        units = doc.units()
        if len(units) == 2:  # "both vehicles collided": the first named struck the second, as for "units 1 and 2 collided"
            return units[0], units[1]
    if target is None and subject is not None:
        group = subjects_of(doc, verb.start())
        if len(group) >= 2:  # "units 1 and 2 collided": the first named struck the second
            return group[-1], group[-2]
    if subject is None and target is not None:
        subject = _striker_by_part(doc, verb.end(), sentence_end, target)
    return subject, target


def _other_unit(doc: Narrative, target: Mention) -> list[Mention]:
    """"Unit 2 was parked ... unit 2 was struck on the back left quarter": in a two-unit narrative, by the other unit."""
    units = doc.units()
    if target.kind != "unit" or len(units) != 2 or "park" not in doc.norm or target.key not in parked_units(doc):
        return []  # only a parked unit: a moving one "was struck" may have struck first
    return [u for u in units if u.key != target.key]


def _striker_by_part(doc: Narrative, start: int, end: int, target: Mention) -> Mention | None:
    """"the driver ... striking unit 2 on the back left with the front right of unit 1": the unit
    whose part did the striking, when the sentence names no unit as its subject."""
    found = WITH_PART_OF.search(doc.norm, start, end)
    if found is None:
        return None
    after = doc.agents_between(found.end(), min(end, found.end() + 12))
    return after[0] if after and after[0].key != target.key else None


def _subject_before(doc: Narrative, start: int, position: int) -> Mention | None:
    parties = doc.agents_between(start, position)
    if len(parties) > 1 and pp.AND_THEN.match(doc.norm, parties[-1].end, position):
        return parties[0]  # "unit 1 was behind unit 2 and struck it": unit 1 struck
    if parties:
        return parties[-1]
    if start and (pp.CONTINUATION.match(doc.norm, start, position) or PRONOUN_SUBJECT.match(doc.norm, start, position)
                  or PRONOUN_CLAUSE.search(doc.norm, start, position)):
        # "...westpark twy. and failed to control speed, striking unit 2"; "she attempted to brake and crashed into
        # unit 2": the unit the sentence before was about
        before = doc.agents_between(doc.sentence(start - 1)[0], start, kinds=("unit",))
        return before[0] if before else None
    return None


def _first_party_after(doc: Narrative, position: int, end: int) -> Mention | None:
    parties = doc.agents_between(position, end, kinds=("unit", "pedestrian", "cyclist", "fixed_object", "animal"))
    # "struck the back of V2": the struck party, not an object further along the sentence
    return parties[0] if parties else None
