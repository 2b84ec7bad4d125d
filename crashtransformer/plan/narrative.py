"""Reading a narrative for plan extraction: entities (units, people, objects, roads) and
contributing factors, each with its evidence span. Used by plan/graph.py; patterns in plan/patterns.py.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from crashtransformer.plan import collision_patterns as cp
from crashtransformer.plan import fault_patterns as fp
from crashtransformer.plan import patterns as pp
from crashtransformer.plan.finding_patterns import (AFTER_THE_CRASH_BEFORE, HEDGED_BEFORE, IMPAIRED_VIEW, PHONE_NOT_DRIVING,
                                                   THIRD_PARTY_BEFORE)
from crashtransformer.plan.confidence import factor_confidence

TARGET_REACH = 60  # characters after a collision verb in which its object must be named


@dataclass
class Mention:
    key: str  # entity key within the crash: U1, P1, C1, O1, A1, R1
    kind: str  # unit | pedestrian | cyclist | fixed_object | animal | road
    start: int
    end: int


class Narrative:
    """The narrative, its normalized twin, sentence bounds and entity mentions."""

    def __init__(self, text: str):
        self.text = text
        self.norm = pp.normalize(text)
        self.sentence_starts = [0] + [m.end() for m in pp.SENTENCE_END.finditer(self.norm)]
        self.verbs = [verb for verb in cp.COLLISION_VERB.finditer(self.norm)
                      if not self._avoided(verb.start()) and not self._officer_contact(verb)]
        self.mentions: list[Mention] = []
        self.entity_text: dict[str, tuple[str, int, int]] = {}
        # units the officer says failed to yield where no catalogue yield fits ("cited for ftyrow"):
        # no factor to state, but still the unit blamed (plan/collisions.py)
        self.unplaced_yields: list[tuple[str, int]] = []  # (unit, where it failed to yield)
        self._find_entities()
        self.mention_starts = [m.start for m in self.mentions]
        self.towed_by = self._find_rigs() if "tow" in self.norm or "trailer" in self.norm else {}  # towed unit -> the unit towing it

    def sentence(self, position: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.sentence_starts, position) - 1
        start = self.sentence_starts[index]
        end = self.sentence_starts[index + 1] if index + 1 < len(self.sentence_starts) else len(self.norm)
        return start, end

    def kind_of(self, key: str) -> str:
        for mention in self.mentions:
            if mention.key == key:
                return mention.kind
        return {"U": "unit", "P": "pedestrian", "C": "cyclist", "O": "fixed_object", "A": "animal", "R": "road"}[key[0]]

    def _officer_contact(self, verb) -> bool:
        if "contact" not in verb.group():
            return False
        contact_end = verb.start() + verb.group().index("contact") + len("contact")  # "made contact with": up to "contact"
        return cp.OFFICER_CONTACT.search(self.norm, max(0, verb.start() - 40), contact_end) is not None

    def _avoided(self, position: int) -> bool:
        if cp.HYPOTHETICAL_BEFORE.search(self.norm, max(0, position - 20), position):
            return True
        avoided = cp.AVOIDED_BEFORE.search(self.norm, max(0, position - 30), position)
        return avoided is not None and not cp.NOT_AVOIDED.search(self.norm, max(0, avoided.start() - 25), avoided.start())

    def units(self) -> list[Mention]:
        """Each unit once, at its first mention, in the order first named."""
        return list({m.key: m for m in reversed(self.mentions) if m.kind == "unit"}.values())[::-1]

    def lone_unit(self) -> Mention | None:
        """The narrative's only unit, if it names exactly one: whatever struck an object was it."""
        units = self.units()
        return units[0] if len(units) == 1 else None

    def _add(self, key: str, kind: str, start: int, end: int) -> None:
        self.mentions.append(Mention(key, kind, start, end))
        self.entity_text.setdefault(key, (self.text[start:end], start, end))

    def _find_entities(self) -> None:
        norm = self.norm
        for match in pp.UNIT.finditer(norm):
            self._add(f"U{pp.unit_number(match)}", "unit", match.start(), match.end())
            tail = pp.UNIT_LIST_TAIL.match(norm, match.end())
            while tail:  # "units 2, 3 and 4"
                self._add(f"U{tail['n']}", "unit", tail.start("n"), tail.end("n"))
                tail = pp.UNIT_LIST_TAIL.match(norm, tail.end())
        for match in pp.GLUED_UNIT.finditer(norm):
            if match.start() >= 2 and norm[match.start() - 2:match.start()].isalpha():
                self._add(f"U{match['n']}", "unit", match.start(), match.end())
        if "ped" in norm or "walk" in norm or "jogger" in norm:  # skip the scan when it cannot match
            for match in pp.PEDESTRIAN.finditer(norm):
                self._add("P1", "pedestrian", match.start(), match.end())
        if "cycl" in norm or "bike" in norm:
            for match in pp.CYCLIST.finditer(norm):
                self._add("C1", "cyclist", match.start(), match.end())
        self._find_struck_objects()
        self._assign_roles()
        roads: dict[str, str] = {}
        for match in pp.ROAD.finditer(norm):
            key = roads.setdefault(match.group().strip(), f"R{len(roads) + 1}")
            self._add(key, "road", match.start(), match.end())
        self.mentions.sort(key=lambda m: m.start)

    def _assign_roles(self) -> None:
        """Units that are people on foot or on bicycles become pedestrian/cyclist entities, and
        "the pedestrian" then means that unit rather than a separate party."""
        roles: dict[str, str] = {}
        for mention in self.mentions:
            if mention.kind != "unit" or mention.key in roles:
                continue
            after = pp.ROLE_AFTER.match(self.norm, mention.end, min(len(self.norm), mention.end + 60))
            before = pp.ROLE_BEFORE.search(self.norm, max(0, mention.start - 20), mention.start)
            found = after or before
            if found:
                roles[mention.key] = "pedestrian" if found.group("ped") else "cyclist"
        if not roles:
            return
        alias = {kind: key for key, kind in roles.items()}  # "the pedestrian" -> that unit
        for mention in self.mentions:
            if mention.kind == "unit" and mention.key in roles:
                mention.kind = roles[mention.key]
            elif mention.kind in alias and mention.key in ("P1", "C1"):
                mention.key = alias[mention.kind]
        for kind, generic in (("pedestrian", "P1"), ("cyclist", "C1")):
            if kind in alias:
                self.entity_text.pop(generic, None)

    def _find_rigs(self) -> dict[str, str]:
        """Towed units and the units towing them: the guide blames a rig's towing unit for what its trailer strikes."""
        towed_by: dict[str, str] = {}
        units = [m for m in self.mentions if m.kind == "unit"]
        for mention, following in zip(units, units[1:]):
            for pattern, towed, tower in ((pp.TOWING_AFTER, following, mention), (pp.TOWED_BY_AFTER, mention, following)):
                link = pattern.match(self.norm, mention.end)
                if link and link.end() == following.start and towed.key != tower.key:
                    towed_by.setdefault(towed.key, tower.key)
            glue = pp.RIG_GLUE.fullmatch(self.norm, mention.end, following.start)
            if glue and pp.TRAILER_NAMED.match(self.norm, following.end) and following.key != mention.key:
                towed_by.setdefault(following.key, mention.key)
        for link in pp.TOWING_UNIT.finditer(self.norm):  # "unit 1 was in the left turn lane and was towing unit 2"
            towed = self.agents_between(link.end(), link.end() + 12, kinds=("unit",))
            tower = subject_of(self, link.start())
            if towed and tower is not None and tower.kind == "unit" and tower.key != towed[0].key:
                towed_by.setdefault(towed[0].key, tower.key)
        return towed_by

    def _find_struck_objects(self) -> None:
        """Fixed objects, looked for only where something is struck ("stopped at the stop sign"
        names no struck object; "struck the stop sign" does)."""
        objects: dict[str, str] = {}
        searched_to = 0
        for verb in self.verbs:
            start = max(verb.end(), searched_to)
            searched_to = min(len(self.norm), verb.end() + TARGET_REACH)
            for match in pp.FIXED_OBJECT.finditer(self.norm, start, searched_to):
                name = match.group().removeprefix("an ").removeprefix("a ").removeprefix("the ")
                key = objects.setdefault(name, f"O{len(objects) + 1}")
                self._add(key, "fixed_object", match.start(), match.end())
            for match in cp.ANIMAL.finditer(self.norm, start, searched_to):
                self._add("A1", "animal", match.start(), match.end())

    def agents_between(self, start: int, end: int, kinds=("unit", "pedestrian", "cyclist")) -> list[Mention]:
        lo = bisect.bisect_left(self.mention_starts, start)
        hi = bisect.bisect_left(self.mention_starts, end)
        return [m for m in self.mentions[lo:hi] if m.kind in kinds]


# ----------------------------------------------------------------------------- factors
@dataclass
class Factor:
    key: str
    actor: str | None
    start: int
    end: int
    how: str = "stated"  # stated | yield_sentence | yield_narrative | non_motorist: how the key was decided

    @property
    def confidence(self) -> float:
        return factor_confidence(self.key, self.how)


def _negated(doc: Narrative, start: int, end: int) -> bool:
    sentence_start, _ = doc.sentence(start)
    before = doc.norm[max(sentence_start, start - 40):start]
    return bool(pp.NEGATION_BEFORE.search(before) or pp.NEGATION_AFTER.match(doc.norm[end:end + 30]))


def _not_a_units_finding(doc: Narrative, key: str, start: int) -> bool:
    """A factor that is no unit's finding (plan/finding_patterns.py): a guess ("could have been traveling
    at an unsafe speed"), speed while fleeing after the crash, a phone not used while driving, an
    impaired view read as an impaired driver, or what a vehicle no unit number names did."""
    sentence_start, sentence_end = doc.sentence(start)
    near = max(sentence_start, start - 40)
    if HEDGED_BEFORE.search(doc.norm, near, start):
        return True
    if key == "unsafe_speed" and AFTER_THE_CRASH_BEFORE.search(doc.norm, near, start):
        return True
    if key == "cell_phone":  # the phone's own clause, not the whole sentence
        return PHONE_NOT_DRIVING.search(doc.norm, max(sentence_start, start - 60), min(sentence_end, start + 80)) is not None
    if key in ("under_influence_alcohol", "under_influence_drugs"):
        view = IMPAIRED_VIEW.search(doc.norm, max(sentence_start, start - 40), min(sentence_end, start + 40))
        if view and view.start() <= start < view.end():
            return True
    third = THIRD_PARTY_BEFORE.search(doc.norm, near, start)
    # "unit 1, a black sedan that ..." and "unit 1 driving a ford truck" describe unit 1
    return third is not None and not doc.agents_between(max(sentence_start, third.start() - 16), third.start(), kinds=("unit",))


def claimed(doc: Narrative, start: int) -> bool:
    """Whether the factor at `start` is a party's claim in its own clause ("although unit 2 claimed a
    green light, video showed unit 2 disregarded the red light" states the second as found), or one
    driver's account of another unit ("driver of unit 2 stated unit 1 made an unsafe lane change";
    a driver's account of its own unit is an admission, and stands)."""
    sentence_start, _ = doc.sentence(start)
    clause_start = max((m.end() for m in pp.CLAUSE_BREAK.finditer(doc.norm, sentence_start, start)), default=sentence_start)
    if pp.CLAIMED_BEFORE.search(doc.norm, clause_start, start) is not None:
        return True
    speech = pp.SPEECH.search(doc.norm, sentence_start, start)
    speaker = _speaker(doc, speech) if speech is not None else None
    if speaker is None:
        return False  # no account, or "a witness behind unit 3 stated ...": not a party's
    accused = doc.agents_between(speech.end(), start, kinds=("unit",))
    if not accused or accused[-1].key == speaker:
        return False
    # one driver's word against the other's, or fault left open: a claim; an account nobody disputes stands
    speakers = {_speaker(doc, other) for other in pp.SPEECH.finditer(doc.norm)}
    return accused[-1].key in speakers or fp.FAULT_UNDETERMINED.search(doc.norm) is not None


def _speaker(doc: Narrative, speech: re.Match) -> str | None:
    """The unit whose driver gives this account ("unit 2 driver stated", "the driver of unit 1 advised")."""
    before = doc.agents_between(doc.sentence(speech.start())[0], speech.start(), kinds=("unit",))
    if before and pp.SPEAKER_GLUE.match(doc.norm[before[-1].end:speech.start()]):
        return before[-1].key
    return None


def subject_of(doc: Narrative, position: int) -> Mention | None:
    """The agent a phrase is about: the nearest one before it in its sentence, else after."""
    start, end = doc.sentence(position)
    before = doc.agents_between(start, position)
    while len(before) > 1 and pp.OBJECT_OF.search(doc.norm, max(start, before[-1].start - 16), before[-1].start):
        before.pop()
    if before:
        if len(before) > 1 and pp.AND_THEN.match(doc.norm, before[-1].end, position):
            return before[0]  # "unit 1 was behind unit 2 and failed to control speed": the clause's subject
        if len(before) > 1 and pp.RELATIVE_AFTER.match(doc.norm, before[0].end) \
                and pp.SPEECH.search(doc.norm, before[-1].end, position):
            return before[0]  # "unit 1 driver who was behind unit 2 advised she reached down": unit 1 did
        if len(before) > 1 and pp.DUE_TO.match(doc.norm, before[-1].end, position):
            striker = _striker_of_object(doc, before)
            if striker is not None:
                return striker  # "unit 2 struck unit 4 due to following too close": unit 2 followed
        return before[-1]
    if start and pp.CONTINUATION.match(doc.norm, start, end):  # the phrase may be the continuation word itself ("fails to yield")
        previous = doc.agents_between(doc.sentence(start - 1)[0], start)
        if previous:
            return previous[-1]
    after = doc.agents_between(position, end)
    return after[0] if after else None


def stated_fault(doc: Narrative) -> tuple[str, int, int] | None:
    """(unit, start, end) of the officer's own finding of fault ("unit 1 was the at fault vehicle",
    "the driver of unit 1 admitted she was at fault"): none where the sentence leaves it open, denies
    it, or is one party's word about the other."""
    for match in fp.FAULT_STATED.finditer(doc.norm):
        sentence_start, sentence_end = doc.sentence(match.start())
        before = doc.norm[max(sentence_start, match.start() - 40):match.start()]
        if fp.FAULT_NOT_NAMED.search(before) or _no_finding(doc, match.start()):
            continue
        subject = subject_of(doc, match.start())
        if subject is not None and subject.kind == "unit":
            return subject.key, match.start(), match.end()
    return _caused_by(doc)


def _no_finding(doc: Narrative, position: int) -> bool:
    """The sentence leaves fault open, or it is one party's word about the other."""
    sentence_start, sentence_end = doc.sentence(position)
    return bool(fp.FAULT_UNDETERMINED.search(doc.norm, sentence_start, sentence_end)) or claimed(doc, position)


def _caused_by(doc: Narrative) -> tuple[str, int, int] | None:
    """The unit a passive finding names: "the crash was caused by unit 2"."""
    for match in fp.FAULT_CAUSED_BY.finditer(doc.norm):
        if _no_finding(doc, match.start()):
            continue
        index = bisect.bisect_left(doc.mention_starts, match.end())
        if index < len(doc.mentions) and doc.mentions[index].start == match.end() and doc.mentions[index].kind == "unit":
            return doc.mentions[index].key, match.start(), match.end()
    return None


def _striker_of_object(doc: Narrative, before: list[Mention]) -> Mention | None:
    """The agent ahead of a collision verb whose object is the last agent named, if there is one."""
    verb = next((v for v in doc.verbs if before[-2].end <= v.start() < before[-1].start), None)
    if verb is None:
        return None
    ahead = [m for m in before if m.end <= verb.start() and m.key != before[-1].key]
    return ahead[-1] if ahead else None


def _closest_cue(text: str, anchor: int, cues) -> tuple[str, int] | None:
    best = None
    for key, pattern in cues:
        for match in pattern.finditer(text):
            distance = abs(match.start() - anchor)
            if best is None or distance < best[1]:
                best = (key, distance)
    return best


def _resolve_yield(doc: Narrative, start: int, end: int, subject: Mention | None) -> tuple[str, str] | None:
    """Which catalogue yield factor a bare "failed to yield" is: by who yields and to what."""
    if subject is not None and subject.kind == "pedestrian":
        return "pedestrian_failed_to_yield", "non_motorist"
    if subject is not None and subject.kind == "cyclist":
        return "cyclist_failed_to_yield", "non_motorist"
    sentence_start, sentence_end = doc.sentence(start)
    sentence = doc.norm[sentence_start:sentence_end]
    for key, pattern in pp.YIELD_CONTEXT:  # in the sentence, the more specific cue wins: a stop sign over a turn
        if pattern.search(sentence):
            return key, "yield_sentence"
    cue = _closest_cue(doc.norm, start, pp.YIELD_CONTEXT)  # the narrative around it
    return (cue[0], "yield_narrative") if cue is not None else None


def _factor_matches(norm: str, non_motorists: bool) -> list[tuple[str, int, int]]:
    """(factor, start, end) in text order; where two phrasings overlap the earlier, longer one wins."""
    matches = []
    for key, triggers in pp.FACTOR_TRIGGERS.items():
        if key == "pedestrian_acts" and not non_motorists:
            continue  # only people on foot or on bicycles "dart out"
        if any(trigger in norm for trigger in triggers):
            matches.extend((key, m.start(), m.end()) for m in pp.FACTOR_RES[key].finditer(norm)
                           if not (m.start() and norm[m.start() - 1].isalnum()))  # starts mid-word
    matches.sort(key=lambda item: (item[1], item[0] == "pedestrian_acts", -item[2]))
    kept, reach = [], -1
    for match in matches:
        if match[1] >= reach:
            kept.append(match)
            reach = match[2]
        elif match[0] != "pedestrian_acts" and kept and kept[-1][0] == "pedestrian_acts":
            kept[-1] = match  # a motorist phrase beats "pulled ... into" read as a pedestrian's act
            reach = match[2]
    return kept


def find_factors(doc: Narrative) -> list[Factor]:
    found: list[Factor] = []
    seen: set[tuple[str, str | None]] = set()
    non_motorists = any(m.kind in ("pedestrian", "cyclist") for m in doc.mentions)
    for key, start, end in _factor_matches(doc.norm, non_motorists):
        if claimed(doc, start) or _not_a_units_finding(doc, key, start):
            continue
        inside = doc.agents_between(start, end) if doc.norm.startswith("failure of", start) else []
        subject = inside[0] if inside else subject_of(doc, start)  # "the failure of unit 1 to yield": unit 1
        how = "stated"
        if key == "yield":
            if pp.KEPT_FROM.search(doc.norm, max(doc.sentence(start)[0], start - 80), start):
                continue
            resolved = _resolve_yield(doc, start, end, subject)
            if resolved is None:
                if subject is not None and subject.kind == "unit":
                    doc.unplaced_yields.append((subject.key, start))
                continue
            key, how = resolved
        elif key == "pedestrian_acts":
            if subject is None or subject.kind not in ("pedestrian", "cyclist"):
                continue
            key = "pedestrian_failed_to_yield" if subject.kind == "pedestrian" else "cyclist_failed_to_yield"
            how = "non_motorist"
        elif key in pp.NEGATABLE and _negated(doc, start, end):
            continue
        if subject is not None and subject.kind in ("pedestrian", "cyclist") and key not in pp.NON_MOTORIST_OK:
            # a person on foot or on a bicycle who ran the light or cut across: failed to yield
            key = "pedestrian_failed_to_yield" if subject.kind == "pedestrian" else "cyclist_failed_to_yield"
        if subject is None:
            subject = doc.lone_unit()  # "the driver said she fell asleep": a one-unit narrative's driver
        actor = subject.key if subject is not None else None
        actor = doc.towed_by.get(actor, actor)  # "the driver of unit 4/5": a trailer has no driver, its tower does
        if (key, actor) in seen or any(f.key == key and actor is None for f in found):
            continue
        seen.add((key, actor))
        found.append(Factor(key, actor, start, end, how))
    phoning = {f.actor for f in found if f.key == "cell_phone"}  # "looked down to check her phone": one distraction, the phone
    return [f for f in found if not (f.key == "driver_inattention" and f.actor in phoning)]
