"""What the claim checker (metrics/claims.py) reads: a narrative's supporting facts, computed once
per crash and shared by all its candidate summaries, and a summary parsed into its units and the
claims found in it so far."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from crashtransformer.metrics.wording import narrative_stems
from crashtransformer.plan.catalogue import FACTOR_BY_KEY
from crashtransformer.plan.fault_patterns import FAULT_LEFT_OPEN, FAULT_UNDETERMINED
from crashtransformer.plan.graph import at_fault_unit, extract_graph
from crashtransformer.plan.finding_patterns import IMPAIRED_VIEW, OBJECT_BEFORE
from crashtransformer.plan.patterns import FACTOR_RES, FACTOR_TRIGGERS, NEGATABLE, NEGATION_AFTER, NEGATION_BEFORE, UNIT, normalize, normalize_narrative, unit_number

# manner rules (plan/manner_rules.py) whose manner the text only implies: the scene (a lane change "was" a
# sideswipe, crossing paths an angle), a cause, or one side named
_IMPLIED_BY_SCENE = frozenset({"lane_change", "crossing", "both_turning_left", "same_way", "factor", "side_part"})
_NON_MOTORIST_YIELD = frozenset({"pedestrian_failed_to_yield", "cyclist_failed_to_yield"})
# "the unknown vehicle changed lanes", "another car pulled out": a party no unit number names
_UNNUMBERED_VEHICLE = re.compile(r"\b(?:unknown?|another|other|second|unidentified|oncoming|third)\s+(?:\w+\s+)?"
                                 r"(?:vehicle|car|truck|suv|van|pickup|semi|motorcycle|bus|driver)s?\b")
_YIELD_WORDS = re.compile(r"\byield|right[\s-]+of[\s-]+way|\bfty|\brow\b")
# "... on the part of Unit 2", "... by Unit 2": who the cause is pinned on; not "was struck by Unit 2", the striker
_ON_THE_PART_OF = re.compile(r"[^.;]{0,40}?\b(?:on\s+the\s+part\s+of|(?<!struck\s)(?<!hit\s)(?<!impacted\s)(?<!contacted\s)"
                             r"(?<!sideswiped\s)(?<!rear-ended\s)(?<!rear\sended\s)by)\s+(?:the\s+)?(?:driver\s+of\s+|operator\s+of\s+)?" + UNIT.pattern)


@dataclass(frozen=True)
class Claim:
    type: str  # factor, speed, impairment, blame, manner, unit, turn, control, conditions, injury, specifics, hedge
    start: int  # the claim's characters in the summary
    end: int
    text: str
    reason: str  # why the narrative does not support it

    def to_dict(self) -> dict:
        return {"type": self.type, "text": self.text, "span": [self.start, self.end], "reason": self.reason}


class NarrativeFacts:
    """What a narrative supports, computed once per crash and shared by all its candidates."""

    def __init__(self, narrative: str, graph: dict | None = None):
        self.text = normalize_narrative(narrative)  # a scan's broken words mended, as the graph reads them
        self.graph = graph if graph is not None else extract_graph(narrative or "", fallback=False)
        self._near: dict[str, set[str]] = {}

    @cached_property
    def word_stems(self) -> frozenset[str]:
        return narrative_stems(self.text)

    def has(self, cue: re.Pattern) -> bool:
        return cue.search(self.text) is not None

    @cached_property
    def text_without_impaired_view(self) -> str:
        """The text with "visibility was impaired" and the like taken out: what an impaired driver is read from."""
        return IMPAIRED_VIEW.sub(" ", self.text)

    @cached_property
    def factor_keys(self) -> set[str]:
        """Causes the graph read, plus any factor phrasing anywhere in the text (not denied)."""
        keys = {e["key"] for e in self.graph.get("events", []) if e.get("type") == "factor" and e.get("key")}
        text = self.text_without_impaired_view  # "visibility was impaired" supports no impaired driver
        for key, regex in FACTOR_RES.items():
            if key in keys or not any(t in text for t in FACTOR_TRIGGERS[key]):
                continue
            for match in regex.finditer(text):
                if key not in NEGATABLE or not (NEGATION_BEFORE.search(text[max(0, match.start() - 40):match.start()])
                                                or NEGATION_AFTER.search(text[match.end():match.end() + 60])):
                    keys.add(key)
                    break
        return keys

    @cached_property
    def actors_by_family(self) -> dict[str, set[str]]:
        actors: dict[str, set[str]] = {}
        for event in self.graph.get("events", []):
            if event.get("type") == "factor" and event.get("actor") and event.get("key") in FACTOR_BY_KEY:
                unit = event["actor"].rsplit(":", 1)[-1]
                actors.setdefault(factor_family(event["key"]), set()).add(unit)
                if event["key"] in _NON_MOTORIST_YIELD:  # the cyclist failed to yield: not the driver who struck it
                    actors.setdefault("yield", set()).add(unit)
        return actors

    def units_before(self, phrase: re.Pattern) -> set[str]:
        """Units named ahead of `phrase` in a sentence where the narrative says it: who may have done it."""
        if phrase.pattern not in self._near:
            units: set[str] = set()
            for match in phrase.finditer(self.text):
                start = max(self.text.rfind(c, 0, match.start()) for c in ".;") + 1
                units |= {f"U{unit_number(m)}" for m in UNIT.finditer(self.text, start, match.start())}
            self._near[phrase.pattern] = units
        return self._near[phrase.pattern]

    def units_near(self, family: str) -> set[str]:
        """Units named ahead of a cause of `family` in a sentence that states it: who may have done it
        ("unit 1 was behind unit 2 and failed to control speed"), not the unit it was done to
        ("unit 2 failed to yield, striking unit 1")."""
        keys = [k for k in FACTOR_RES if k != "pedestrian_acts" and factor_family(k) == family]
        return set().union(*(self.units_before(FACTOR_RES[key]) for key in keys))

    @cached_property
    def collisions(self) -> list[dict]:
        """Collisions read by rule (a learned manner is a guess and supports nothing)."""
        return [e for e in self.graph.get("events", [])
                if e.get("type") == "collision" and not str(e.get("rule", "")).startswith("learned")]

    @cached_property
    def manners(self) -> set[str]:
        """Manners the words or planes state: one the scene only implies needs its own cue (claim_patterns MANNER_CLAIMS)."""
        return {e["key"] for e in self.collisions if e.get("key") and e.get("rule") not in _IMPLIED_BY_SCENE}

    @cached_property
    def other_party(self) -> bool:
        """Whether anyone besides a lone vehicle is in the crash: a second unit, a pedestrian or a cyclist."""
        others = {e.get("type") for e in self.graph.get("entities", [])} & {"pedestrian", "cyclist"}
        return len(self.unit_numbers) > 1 or bool(others) or self.has(_UNNUMBERED_VEHICLE)

    @cached_property
    def rear_end_without_yield(self) -> bool:
        """The first collision is a rear-end and the narrative says nothing of yielding or a right of way: a
        striker from behind had none to yield (the scene's yield cues read crossing paths, not queues)."""
        first = next((e.get("key") for e in self.collisions if e.get("key")), None)
        return first == "rear_end" and not _YIELD_WORDS.search(self.text) and "yield" not in {
            factor_family(k) for k in self.factor_keys}

    @cached_property
    def objects_struck(self) -> bool:
        """Whether a rule-read collision struck a fixed-object entity (a pole, a curb; not a parked unit)."""
        objects = {e["id"] for e in self.graph.get("entities", []) if e.get("type") == "fixed_object"}
        return any(e.get("target") in objects for e in self.collisions)

    @cached_property
    def strikes(self) -> set[tuple[str, str]]:
        return {(e["actor"].rsplit(":", 1)[-1], e["target"].rsplit(":", 1)[-1]) for e in self.collisions
                if e.get("actor") and e.get("target")}

    @cached_property
    def unit_numbers(self) -> set[int]:
        graph_units = {int(e["id"].rsplit(":U", 1)[-1]) for e in self.graph.get("entities", [])
                       if e.get("type") == "unit" and e.get("id", "").rsplit(":", 1)[-1][1:].isdigit()}
        return {unit_number(m) for m in UNIT.finditer(self.text)} | graph_units

    @cached_property
    def fault_undetermined(self) -> bool:
        """The officer leaves fault open, or says no one witnessed it: no factor claim may blame a unit."""
        return self.has(FAULT_UNDETERMINED)

    @cached_property
    def fault_left_open(self) -> bool:
        """The officer's own words leave fault open ("no witnesses" alone does not: a lone unit still lost control)."""
        return self.has(FAULT_LEFT_OPEN)

    @cached_property
    def at_fault(self) -> str | None:
        return at_fault_unit(self.graph)

    @cached_property
    def blamed(self) -> set[str]:
        """The unit the narrative blames, as a set (empty when it blames none)."""
        return {self.at_fault} if self.at_fault else set()


def factor_family(key: str) -> str:
    return FACTOR_BY_KEY[key].family if key in FACTOR_BY_KEY else "yield"


class ParsedSummary:
    """A summary's normalized text, its sentences and unit mentions, and the claims found so far."""

    def __init__(self, summary: str):
        self.original, self.text = summary, normalize(summary)
        self.units = [(m.start(), m.end(), f"U{unit_number(m)}") for m in UNIT.finditer(self.text)]
        self.found: list[Claim] = []
        self.spans: list[tuple[int, int]] = []  # every claim span met, supported or not

    def claim_at(self, match: re.Match | tuple[int, int], deniable: bool = True) -> tuple[int, int] | None:
        """The span, unless an earlier claim covers it or (`deniable`) the summary denies it ("no sign
        of ..."). Words the narrative never uses are not deniable: "did not adequately scan" judges."""
        start, end = match.span() if isinstance(match, re.Match) else match
        if any(start < e and s < end for s, e in self.spans):
            return None
        self.spans.append((start, end))
        sentence_start = max(self.text.rfind(".", 0, start), self.text.rfind(";", 0, start)) + 1
        if deniable and NEGATION_BEFORE.search(self.text[max(sentence_start, start - 30):start]):
            return None
        return start, end

    def unsupported(self, kind: str, span: tuple[int, int], reason: str) -> None:
        self.found.append(Claim(kind, span[0], span[1], self.original[span[0]:span[1]], reason))

    def units_in_sentence_before(self, position: int) -> list[str]:
        """The units named before `position` in its sentence, in order, whatever their roles."""
        sentence_start = max(self.text.rfind(c, 0, position) for c in ".;!?") + 1
        return [unit for start, _, unit in self.units if sentence_start <= start < position]

    def unit_named_before(self, position: int) -> str | None:
        """The unit named last before `position` in its sentence ("a collision with Unit 2 after it stopped": Unit 2)."""
        return (self.units_in_sentence_before(position) or [None])[-1]

    def subject_before(self, position: int, end: int | None = None) -> str | None:
        """Who the claim at `position` is about: the unit of "... on the part of Unit 2" right after
        it, else the unit named last before it in the same sentence."""
        if end is not None:
            after = _ON_THE_PART_OF.match(self.text, end)
            if after:
                return f"U{unit_number(after)}"
        sentence_start = max(self.text.rfind(c, 0, position) for c in ".;!?") + 1
        named = [(start, unit) for start, _, unit in self.units if sentence_start <= start < position]
        actors = [unit for start, unit in named if not OBJECT_BEFORE.search(self.text, sentence_start, start)]
        return (actors or [unit for _, unit in named] or [None])[-1]
