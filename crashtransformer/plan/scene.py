"""The scene a police narrative sets around its collision: which way each unit was going, which
units were stopped or slowing, who was behind whom, who turned, changed lanes, backed, pulled out
of a driveway or a stop sign, and which units were parked.

Police narratives describe the scene and leave the manner to the reader ("Unit 2 was stopped at
the red light. Unit 1 was behind Unit 2 and struck it."): plan/manner_rules.py reads the manner from
these facts when no words or damage areas state it. Each fact keeps the position of its cue.
"""

from __future__ import annotations

import re
from functools import cached_property

from crashtransformer.plan import collision_patterns as cp
from crashtransformer.plan.literal_first import compile_literal_first
from crashtransformer.plan.narrative import Mention, Narrative

# A unit stopped, slowing or waiting: the one a rear-end strikes.
STOPPED = compile_literal_first(
    r"\b(?:stopped|stationary|slow(?:ed|ing)|wait(?:ed|ing)|sitting|brak(?:ed|ing)|stalled|disabled|yielding|stopping"
    r"|(?:came|come|coming)\s+to\s+a\s+(?:complete\s+|sudden\s+|full\s+|abrupt\s+)?stop|(?:at|to)\s+a\s+(?:complete\s+|full\s+)?stop"
    r"|standing\s+still|decelerat\w*|applied\s+(?:the\s+|his\s+|her\s+|their\s+)?brakes?|in\s+(?:stopped|stop\s+and\s+go|heavy)\s+traffic)\b"
)
# A stopped unit that then moved off into a crossing road is not waiting to be rear-ended.
MOVED_OFF = compile_literal_first(r"\b(?:proceed\w*|pull(?:ed|ing)\s+(?:out|forward|into|onto)|enter(?:ed|ing)|began\s+to\s+(?:cross|turn|go)"
                       r"|started\s+to\s+(?:cross|turn|go)|attempt\w*\s+to\s+(?:cross|turn|go|enter))\b")
# "unit 1 followed unit 2 until sight of it was lost" is a pursuit after the crash, not a queue
# "unit 2 was approaching the rear of unit 1": a follower too
BEHIND = compile_literal_first(r"\b(?:behind|following|followed(?!\s+(?:\S+\s+){1,3}?(?:until|home|to\s+(?:the|its|his|her)))|in\s+front\s+of|ahead\s+of"
                               r"|(?:approach\w*|c(?:a|o)me\s+up\s+(?:on|to))\s+(?:the\s+)?rear\s+(?:end\s+)?of)\b")
# Two units side by side: going the same way
SIDE_BY_SIDE = compile_literal_first(r"\b(?:next\s+to|beside|alongside|side\s+by\s+side)\b")
NOT_A_PLACE = compile_literal_first(r"\b(?:turn\w*|pull\w*|enter\w*|cross\w*|merg\w*|chang\w*|cut|came\s+out|back\w*|stepped|ran|walk\w*)\b")
RIGHT_TURN = compile_literal_first(r"\bturn(?:ed|ing|s)?\s+(?:to\s+(?:the\s+)?)?right|\bright[\s-]+(?:hand\s+)?turn|\bturn\s+right|\bturn(?:ed|ing)?\s+on\s+(?:a\s+)?red")
U_TURN = compile_literal_first(r"\bu[\s-]?turn")
LANE_CHANGE = compile_literal_first(
    r"\bchang(?:e|ed|es|ing)\s+(?:of\s+)?lanes?|\bchang(?:e|ed|es|ing)\s+into\s+(?:the\s+)?(?:\w+\s+){0,2}?lane|\blane\s+change|(?<!the\s)(?<!a\s)\bm[eu]rg(?:e|ed|es|ing)\b(?!\s+(?:right\s+|left\s+)?(?:turn\s+)?lane)"  # not "the merge lane"
    r"|\b(?:get|getting|got)\s+(?:in|into|onto|over\s+into)\s+(?:the\s+|(?:unit\s*#?\d|his|her|its|their)'?s?\s+)?(?:[\w-]+\s+){0,2}?lane|\bswitch(?:ed|ing)\s+lanes|\bovertak\w*"
    r"|\b(?:pass(?:ed|ing)?|attempt\w*\s+to\s+pass)\b(?!\s+(?:through|the\s+intersection|away|out|by|an?\s+(?:crash|accident|collision|wreck)))"
    r"|\b(?:mov|swerv|veer|drift|cross|driv)(?:ed|ing)\s+(?:\w+\s+){0,3}?(?:into|over\s+into)\s+(?:the\s+)?(?:\w+\s+){0,3}?lane"
    r"|\b(?:came|drove)\s+(?:\w+\s+){0,3}?(?:into|over\s+into)\s+(?:the\s+)?(?:\w+\s+){0,3}?lane"
    # "made an intentional move into the left lane"; "entered the #1 lane" (a lane beside its own, not a road)
    r"|\bmov(?:e|es|ement)\s+(?:\w+\s+){0,4}?(?:into|over\s+into)\s+(?:the\s+)?(?:\w+\s+){0,3}?lane"
    r"|\benter(?:ed|ing|s)?\s+(?:the\s+|his\s+|her\s+|its\s+)?(?:#\s*\d|number\s+\w+|inside|outside|center|middle|adjacent|next|other)\s+lane"
    r"|\benter(?:ed|ing|s)?\s+(?:(?:unit|u|v|veh)\s*#?\s*\d+|the\s+other\s+(?:unit|vehicle)|their)'?s?\s+lane"  # "attempting to enter u2 lane"
)
ENTERING = compile_literal_first(
    r"\b(?:exit(?:ed|ing|s)?|leav(?:e|es|ing)|left|pull(?:ed|ing|s)?\s+out\s+(?:of|from)|pull(?:ed|ing|s)?\s+(?:out\s+)?(?:onto|into)"
    r"|enter(?:ed|ing|s)?|com(?:e|ing)\s+out\s+of|(?:was|were)\s+(?:stopped|stationary|facing\s+\w+)\s+(?:at|in|on))\s+"
    r"(?:\w+\s+){0,4}?(?:private\s+(?:drive\w*|dr|road|property|lot)|driveway|parking\s+(?:lot|space|stall|area|garage)|p-lot|alley"
    r"|gas\s+station|business|apartment\s+complex)"
    r"|\bfrom\s+(?:a\s+|the\s+)?(?:stop\s+sign|stop\s+intersection|private\s+drive\w*|driveway|parking\s+lot)"
    r"|\bat\s+(?:the\s+|a\s+)?stop\s+(?:sign|intersection|bar)"
    # "pulled out onto the roadway", "pulled out into traffic", "pulled out in front of unit 2": from somewhere off it
    r"|\bpull(?:ed|ing|s)?\s+out\s+(?:(?:onto|into)\s+(?:the\s+)?(?:roadway|road|street|highway|traffic)\b|in\s+front\s+of)"
    r"|\bpull(?:ed|ing|s)?\s+into\s+(?:the\s+)?(?:roadway|road|street|highway|traffic)\b"  # "pulling into the roadway"
)
# Crossing a road (not a lane): its path crosses the traffic on that road
CROSSING_ROAD = compile_literal_first(
    r"\bcross(?:ed|ing|es)\s+(?:over\s+)?(?:the\s+)?(?:\w+\s+){0,3}?(?:blvd|boulevard|road|rd|street|st|avenue|ave|highway|hwy"
    r"|parkway|pkwy|intersection|traffic)\b")
# Into an intersection: its path crosses the other road's traffic, it joins no lane of it
INTO_INTERSECTION = compile_literal_first(r"\b(?:enter(?:ed|ing|s)?|cross(?:ed|ing|es)|pull(?:ed|ing|s)?\s+into)\s+(?:the\s+|an\s+)?intersection\b")
# Out of a driveway or lot (a left turn out of one is an angle; a left turn into one stays a left turn).
FROM_DRIVE = compile_literal_first(
    r"\b(?:out\s+of|from|exit(?:ed|ing|s)?(?:\s+of)?|leav(?:e|es|ing)|left(?![\s-]+(?:hand|turn|lane|side|into|onto|in\b))|in|inside|within)\s+(?:the\s+|a\s+|an\s+)?(?:\w+\s+){0,3}?"
    r"(?:private\s+(?:drive\w*|dr|road|property|lot)|driveway|parking\s+(?:lot|space|stall|area|garage)|p-lot|alley"
    r"|gas\s+station|business(?!\s+(?:\d|hwy|highway|route|loop|us\b))|apartment\s+complex)\b"
    r"|\b(?:at|from|out\s+of)\s+the\s+(?:\w+\s+)?(?:entrance|exit)\s+(?:of|to|for)\b"
    # "stopped at the intersection of target parking lot and 5400 bosque": at the lot's mouth
    r"|\bat\s+(?:the\s+)?intersection\s+of\s+(?:the\s+|a\s+)?(?:\w+\s+){0,2}?(?:parking\s+lot|private\s+drive|driveway)\b"
    r"|\b(?:leav(?:e|es|ing)|left)\s+the\s+(?:location|restaurant|store|church|school|residence|house|lot)\b")
# Waiting in a left-turn lane: struck by a unit coming the other way, it was turning left.
IN_LEFT_TURN_LANE = compile_literal_first(r"\bleft[\s-]+(?:hand\s+)?turn(?:ing)?[\s-]+(?:only\s+)?lane")
# A turn told by the direction it ends in ("traveling south ... turning east"): left or right of travel.
_HEADING = r"(?:(?:north|south|east|west)(?:bound)?\b|[nsew]/?b\b)"  # a direction word, whole: not "to westheimer rd"
TURN_TOWARD = compile_literal_first(
    r"\bturn(?:ed|ing|s)?\s+(?:to\s+(?:travel|go|head|proceed)\s+)?(?P<to>" + _HEADING + ")"
    r"|\b(?:made|make|making|execut\w+)\s+an?\s+(?P<to2>north|south|east|west|[nsew])(?:\s*-?\s*bound|/?b)?\s+turn"
    # "turning from westbound edgewood onto southbound friendswood", "traveling eastbound lindhurst ave to northbound strait ln"
    r"|\b(?:turn(?:ed|ing|s)?\s+from|travel(?:l)?(?:ed|ing)|heading|going|driving)\s+(?:\S+\s+){1,6}?(?:onto|on\s+to|to)\s+"
    r"(?:travel\s+|go\s+|head\s+)?(?P<to3>" + _HEADING + ")"
)
TO_DIRECTION = compile_literal_first(r"\b(?:on)?to\s+(?:travel\s+|go\s+|head\s+)?" + _HEADING)  # a cheap gate for the last
TURNED_TO = re.compile(r"\bturn(?:ed|ing|s)?\s+(?:to\s+(?:travel|go|head|proceed)\s+)?$")
OTHERS_TRAFFIC = re.compile(r"\s+(?:traffic|vehicles)\b")
# "V1 rotated clockwise and came to rest in lane two, facing northwest": where it ended, not how it traveled
AT_REST_BEFORE = re.compile(r"\b(?:came\s+to\s+(?:a\s+)?(?:final\s+)?rest|final\s+rest|at\s+rest|rotated|spun|yawed)\b[^.;]{0,40}$")
LEFT_OF = {"n": "w", "w": "s", "s": "e", "e": "n"}  # facing north, west is on the left
RIGHT_OF = {"n": "e", "e": "s", "s": "w", "w": "n"}
AN_OBJECT = re.compile(r"\b(?:in\s+front\s+of|behind|past|passing|following|followed)\s+(?:the\s+)?$")
# "u1 collided with u2 while attempting to enter u2 lane": the striker attempted, not the unit it struck
_STRUCK_OBJECT = re.compile(r"\b(?:struck|hit|collided\s+with|crashed\s+into|ran\s+into)\s+(?:the\s+)?$")
_WHILE_ATTEMPTING = re.compile(r"\s*,?\s*(?:while|when)\s+(?:attempting|trying)\s+to\s+$")
_LIST_GLUE = re.compile(r"^(?:\s*(?:,|&|and|units?|vehicles?|veh|#|nos?\.?)\s*)*$")

# The manner a unit's own contributing factor leaves when nothing else tells it.
FACTOR_MANNER = {
    "followed_too_closely": "rear_end", "failed_to_control_speed": "rear_end",
    "unsafe_lane_change": "sideswipe_same", "improper_passing": "sideswipe_same",
    "yield_turning_left": "left_turn", "wrong_way": "head_on",
    "disregarded_signal": "angle", "disregarded_stop_sign": "angle", "yield_stop_sign": "angle",
    "yield_yield_sign": "angle", "yield_private_drive": "angle", "turned_improperly": "angle",
    "backed_without_safety": "backing", "unsafe_start": "rear_end",
}


class Scene:
    """The scene of one narrative; each fact is read on first use (most narratives are decided
    by their words and damage areas before any scene fact is needed)."""

    def __init__(self, doc: Narrative):
        self.doc = doc

    @cached_property
    def directions(self) -> dict[str, str]:  # unit -> n/s/e/w
        return unit_directions(self.doc)

    @cached_property
    def stopped(self) -> dict[str, int]:  # unit -> where it is said to be stopped/slowing
        return _marked(self.doc, STOPPED)

    @cached_property
    def left_turn(self) -> dict[str, int]:
        return _earliest(_marked(self.doc, cp.LEFT_TURN, ("left",)), self.turns_toward(LEFT_OF))

    @cached_property
    def in_left_turn_lane(self) -> dict[str, int]:
        return _marked(self.doc, IN_LEFT_TURN_LANE, ("left",))

    @cached_property
    def other_turn(self) -> dict[str, int]:  # right turns and U-turns
        return _earliest(_marked(self.doc, U_TURN, ("turn",)), _marked(self.doc, RIGHT_TURN, ("right",)),
                         self.turns_toward(RIGHT_OF))

    def turns_toward(self, side: dict[str, str]) -> dict[str, int]:
        """Units whose turn ends in the direction on `side` of the way they were going."""
        turns: dict[str, int] = {}
        if "turn" not in self.doc.norm and not TO_DIRECTION.search(self.doc.norm):
            return turns
        for match in TURN_TOWARD.finditer(self.doc.norm):
            toward = (match.group("to") or match.group("to2") or match.group("to3"))[0]
            for unit in subjects_of(self.doc, match.start()):
                if side.get(self.directions.get(unit.key, "")) == toward:
                    turns.setdefault(unit.key, match.start())
        return turns

    @cached_property
    def crossing_road(self) -> dict[str, int]:
        return _marked(self.doc, CROSSING_ROAD, ("cross",))

    @cached_property
    def into_intersection(self) -> dict[str, int]:
        return _marked(self.doc, INTO_INTERSECTION, ("intersection",))

    @cached_property
    def lane_change(self) -> dict[str, int]:
        return _marked(self.doc, LANE_CHANGE, ("lane", "merg", "murg", "pass", "overtak"))

    @cached_property
    def from_drive(self) -> dict[str, int]:  # from a driveway, lot or alley
        return _marked(self.doc, FROM_DRIVE, ("drive", "lot", "alley", "station", "business", "apartment", "entrance",
                                              "exit", "leav", "left"))

    @cached_property
    def entering(self) -> dict[str, int]:  # from a driveway, lot or stop sign; or stopped, then moved off
        entering = _marked(self.doc, ENTERING, ("drive", "lot", "alley", "stop", "station", "business", "apartment"))
        for unit, position in self.stopped.items():  # "stopped at the stop sign, then proceeded"
            if unit not in entering and _moved_off(self.doc, unit, position):
                entering[unit] = position
        return entering

    @cached_property
    def backing(self) -> dict[str, int]:
        return _marked(self.doc, cp.BACKING_ACTOR, ("back", "revers"))

    @cached_property
    def behind(self) -> set[tuple[str, str]]:  # (follower, leader)
        return _behind_pairs(self.doc)

    def relation(self, a: str | None, b: str | None) -> str | None:
        """same / opposite / crossing, from the two units' directions of travel."""
        directions = self.directions
        if a not in directions or b not in directions:
            return None
        da, db = directions[a], directions[b]
        if da == db:
            return "same"
        return "opposite" if _AXIS[da] == _AXIS[db] else "crossing"

    def stopped_at_stop_sign(self, unit: str, until: int) -> bool:
        """Stopped at a stop sign before `until`, not said to have moved off or to have come out of a drive."""
        if unit not in self.stopped or self.stopped[unit] >= until or unit in self.from_drive:
            return False
        start, end = self.doc.sentence(self.stopped[unit])
        return "stop sign" in self.doc.norm[start:end] and not _moved_off(self.doc, unit, self.stopped[unit])

    def held_still(self, unit: str, until: int) -> bool:
        """Stopped before `until` and never said to have moved off: waiting at a sign or to turn is no movement."""
        return unit in self.stopped and self.stopped[unit] < until and not _moved_off(self.doc, unit, self.stopped[unit])

    def waiting(self, unit: str, until: int) -> bool:
        """Stopped or slowing before `until`, and not said to have moved off into a crossing road."""
        return unit in self.stopped and self.stopped[unit] < until and unit not in self.entering


_AXIS = {"n": "ns", "s": "ns", "e": "ew", "w": "ew"}


def subjects_of(doc: Narrative, position: int) -> list[Mention]:
    """The units a phrase is about: the nearest unit before it in its sentence and the units
    listed with it ("units 2, 3 and 4 were stopped"); else the first unit after it."""
    start, end = doc.sentence(position)
    before = doc.agents_between(start, position, kinds=("unit",))
    if not before:
        after = doc.agents_between(position, end, kinds=("unit",))
        return after[:1]
    while len(before) > 1 and AN_OBJECT.search(doc.norm, max(start, before[-1].start - 12), before[-1].start):
        before.pop()  # "unit 1 turns in front of unit 2 ... trying to make a left turn": unit 1 turned
    if len(before) > 1 and _WHILE_ATTEMPTING.fullmatch(doc.norm, before[-1].end, position) \
            and _STRUCK_OBJECT.search(doc.norm, max(start, before[-1].start - 16), before[-1].start):
        before.pop()
    group = [before[-1]]
    for mention in reversed(before[:-1]):
        if not _LIST_GLUE.match(doc.norm[mention.end:group[-1].start]):
            break
        group.append(mention)
    return group


def _marked(doc: Narrative, pattern: re.Pattern, trigger: tuple[str, ...] = ()) -> dict[str, int]:
    """unit -> position of the first cue about it."""
    facts: dict[str, int] = {}
    if trigger and not any(word in doc.norm for word in trigger):
        return facts  # a cheap substring check first: most narratives lack most cues
    for match in pattern.finditer(doc.norm):
        for unit in subjects_of(doc, match.start()):
            facts.setdefault(unit.key, match.start())
    return facts


def _earliest(*facts: dict[str, int]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for fact in facts:
        for unit, position in fact.items():
            merged[unit] = min(position, merged.get(unit, position))
    return merged


def _moved_off(doc: Narrative, unit: str, position: int) -> bool:
    for match in MOVED_OFF.finditer(doc.norm, position):
        if any(m.key == unit for m in subjects_of(doc, match.start())):
            return "stop sign" in doc.norm[max(0, position - 60):match.start()] or "stop intersection" in doc.norm
    return False


def _behind_pairs(doc: Narrative) -> set[tuple[str, str]]:
    """(follower, leader) from "U1 was behind U2", "U1 was following U2", "U2 was in front of U1"."""
    pairs = set()
    for match in BEHIND.finditer(doc.norm):
        sentence_start, _ = doc.sentence(match.start())
        before = doc.agents_between(sentence_start, match.start(), kinds=("unit",))
        after = doc.agents_between(match.end(), match.end() + 20, kinds=("unit",))
        if not before or not after or before[-1].key == after[0].key:
            continue
        if NOT_A_PLACE.search(doc.norm, before[-1].end, match.start()):
            continue  # "turned in front of U2", "pulled out ahead of": a movement, not a queue
        passive = match.group().startswith("follow") and doc.norm.startswith(" by ", match.end())  # "U2 followed by U1"
        ahead = passive or match.group().startswith(("in front", "ahead"))
        for other in _listed_from(doc, after):  # "U1 was behind U2 and U3"
            pairs.add((other.key, before[-1].key) if ahead else (before[-1].key, other.key))
    return pairs


def _listed_from(doc: Narrative, mentions: list[Mention]) -> list[Mention]:
    """The first mention and those listed right after it ("unit 2 and unit 3")."""
    listed = [mentions[0]]
    for mention in doc.agents_between(mentions[0].end, mentions[0].end + 40, kinds=("unit",)):
        if not _LIST_GLUE.match(doc.norm[listed[-1].end:mention.start]):
            break
        listed.append(mention)
    return listed


def unit_directions(doc: Narrative) -> dict[str, str]:
    """Each unit's travel direction, from the first direction stated in a sentence about it
    ("units 1 and 2 were northbound" gives both)."""
    directions: dict[str, str] = {}
    for match in cp.DIRECTION.finditer(doc.norm):
        if TURNED_TO.search(doc.norm, max(0, match.start() - 30), match.start()) or OTHERS_TRAFFIC.match(doc.norm, match.end()) \
                or AT_REST_BEFORE.search(doc.norm, max(0, match.start() - 60), match.start()):
            continue  # "preparing to turn nb", "yielding to sb traffic", "came to rest facing west": not its own travel
        word = match.group("d") or match.group("d2") or match.group("d3") or match.group("d4")
        for unit in subjects_of(doc, match.start()):
            directions.setdefault(unit.key, word[0])
    if len(directions) == 1 and cp.SAME_DIRECTION.search(doc.norm):  # "both units were traveling east"
        only = next(iter(directions.values()))
        directions.update({m.key: only for m in doc.mentions if m.kind == "unit"})
    return directions


def parked_units(doc: Narrative) -> set[str]:
    """Units said to be parked: "V3 was legally parked", "V2 and V3 were parked", "struck parked unit 2"."""
    parked = set()
    for match in cp.PARKED.finditer(doc.norm):
        if doc.norm.startswith(" position", match.end()):
            continue  # "an improper start from a stopped, standing or parked position": the form's words
        sentence_start, sentence_end = doc.sentence(match.start())
        if cp.ARRIVAL.search(doc.norm, sentence_start, sentence_end):
            continue  # "I arrived to see both u1 and u2 parked on a side street": where they stopped after
        named_after = doc.agents_between(match.end(), match.end() + 25, kinds=("unit",))
        if named_after and not doc.norm[match.end():named_after[0].start].strip(" ,(").startswith(("by", "at", "in")):
            parked.add(named_after[0].key)  # "parked unit 2", "a parked vehicle, unit 2"
            continue
        units = doc.agents_between(sentence_start, match.start(), kinds=("unit",))
        if not units:
            continue
        plural = doc.norm[units[-1].end:match.start()].lstrip().startswith("were")
        parked |= {u.key for u in subjects_of(doc, match.start())} if plural else {units[-1].key}
    return parked
