"""The patterns of a collision, compiled once at import: collision verbs, manner words, vehicle
planes and Texas damage codes, directions of travel, turns, backing, parked units, animals.
Used by plan/narrative.py, plan/collisions.py and plan/scene.py; like plan/patterns.py they run on
the normalized narrative (`patterns.normalize`), so offsets are evidence spans into the original.
"""

from __future__ import annotations

import re

from crashtransformer.plan.finding_patterns import VEHICLE_NOUN
from crashtransformer.plan.literal_first import compile_literal_first
from crashtransformer.plan.patterns import BACKING

COLLISION_VERB = compile_literal_first(
    r"\b(?:(?:collision|crash|impact|contact)\s+(?:(?:was\s+made|occurred)\s+)?(?:with|between)|struck|strik(?:e|es|ing|ed)|stirk\w*|srtik\w*|strick(?:s|ed|ing)?|stuck|hit(?:s|ting)?|coll?id(?:ed|es|ing|e)|crash(?:ed|es|ing)?\s+(?:in)?to|"
    r"impact(?:ed|ing|s)?|contact(?:ed|ing|s)?|made\s+contact|rear[\s-]?end(?:ed|ing|s)?|side[\s-]?swip(?:ed|ing|es|e)|side[\s-]?swept|"
    r"t-?bon(?:ed|ing|e)|clip(?:ped|ping|s)?|scrap(?:ed|ing|es)|swip(?:ed|ing)|(?:backed|backing|reversed|reversing)(?:\s+up|\s+out)?\s+into|broadsid(?:ed|ing|e)|ran\s+into|smash(?:ed|ing)?\s+into|slamm(?:ed|ing)\s+into|ram(?:med|ming)|"
    r"bump(?:ed|ing)|(?:pushed|propelled|forced|shoved|knocked)\s+(?:forward\s+)?into|rolled\s+(?:back\s+)?into|"
    r"engaged"
    r"|(?:went|drove|driving|veered|slid|skidded|sent|travel(?:l)?ed|continued|came)\s+(?:[a-z']+\s+){0,4}?(?:into|over)"
    r"|(?:turned|turning|tuned)\s+(?:left\s+|right\s+)?into)\b"  # need an object: "turned into unit 2", not "into the lot"
)
# Where a unit moved, not what it struck: "drove into his lane", "went into the shoulder"
PLACE = compile_literal_first(r"\b(?:lanes?|shoulder|roadway|road|street|median|intersection|parking|driveway|ditch|path|traffic|way|turn"
                              r"|private\s+(?:drive|dr|road|lot|property)|lot|alley)\b")
# Animals a Texas road sees (plural or not), as the struck party or the first harmful event.
_ANIMALS = r"deer|dogs?|cows?|cattle|horses?|animals?|hogs?|pigs?|elk|moose|livestock|goats?|coyotes?|bulls?|calf|calves|javelinas?|armadillos?|raccoons?"
# First harmful events no collision verb names (plan/collisions.py, when no collision has a manner).
ANIMAL_STRUCK = compile_literal_first(
    r"\b(?:struck|hit|collided\s+with|strik\w+|avoid\w*|impact\w*|ran\s+over)\s+(?:[a-z']+\s+){0,5}?(?:" + _ANIMALS + r")\b"
    r"|\b(?:" + _ANIMALS + r")\s+(?:[a-z']+\s+){0,3}?(?:ran|jumped|darted|crossed|entered|came|was\s+in|stepped|walked)\b"
)
ROAD_DEPARTURE = compile_literal_first(
    r"\b(?:(?<!the\s)(?<!to\s)left|ran\s+off|went\s+off|drove\s+off|veered\s+off|traveled\s+off|travelled\s+off|exited|departed|came\s+off|spun\s+off|slid\s+off|run\s+off)"
    r"\s+(?:of\s+)?(?:the\s+)?(?:[a-z]+\s+){0,2}?(?:road(?:way)?|highway|pavement|street|curve)\b"
    r"|\binto\s+(?:a|the)\s+(?:[a-z]+\s+)?(?:ditch|creek|canal|pond|lake|field|median|yard|embankment|river)\b"
)
# "i contacted unit 1", "officers made contact with the driver": the officer spoke to someone
OFFICER_CONTACT = re.compile(r"\b(?:i|we|officers?|deputy|deputies|trooper|ofc\.?|sgt\.?|cpl\.?)\s+(?:\w+\s+){0,2}?"
                             r"(?:then\s+|later\s+|also\s+)?(?:contact(?:ed)?|made\s+contact)$")
# "to avoid a collision with", "nearly struck": a collision that did not happen (unless the unit
# "was unable to avoid" it: NOT_AVOIDED)
# "was able to stop without crashing into unit 2"; "backed without safety and struck" is no such case
AVOIDED_BEFORE = compile_literal_first(r"\b(?:avoid\w*|prevent\w*|almost|nearly|narrowly)\s+(?:[a-z'-]+\s+){0,2}$|\bwithout\s+$"
                                       r"|\b(?:did\s*n[o']?t|never)\s+(?:make\s+|come\s+into\s+)?$|\bnon[\s-]?$")  # "did not make contact", "a non-contact"
# "she was worried she would hit the median", "was about to strike": a collision that did not (yet) happen
HYPOTHETICAL_BEFORE = compile_literal_first(r"\b(?:would|might|may|will|could|going\s+to|about\s+to)\s+(?:have\s+)?$")
# "was forced into the median after impacting unit 1": the impact after "after" came first
AFTER_BEFORE = compile_literal_first(r"\bafter\s+(?:being\s+|it\s+|he\s+|she\s+|they\s+|having\s+)?$")
NOT_AVOIDED = re.compile(r"\b(?:unable|not\s+able|could\s*n[o']?t|couldn't|can\s*n[o']?t|cannot|fail\w*|did\s*n[o']?t|didn't)"
                         r"\s+(?:to\s+)?$")
# "felt an impact from unit 1": the party after "from" struck
FROM_AFTER = re.compile(r"^\s+(?:[a-z]+\s+){0,3}?from\s+(?=unit|vehicle|veh|v\d|u\d|#|(?:the\s+)?(?:driver|operator)\s+of)")
PASSIVE_BEFORE = compile_literal_first(r"\b(?:was|were|got|been|being|is|are)\s+(?:\w+ly\s+)?$")
BY_AFTER = re.compile(r"^\s+(?:[a-z]+\s+){0,6}?by\b")

# Manner words stated outright.
EXPLICIT_MANNER: tuple[tuple[str, re.Pattern], ...] = (
    ("rear_end", compile_literal_first(r"\brear[\s-]?end\w*|\brear\s+ended|\bfrom\s+(?:the\s+)?(?:behind|rear)\b")),
    ("head_on", compile_literal_first(r"\bhead[\s-]?on\b|\bfront[\s-]to[\s-]front\b")),
    ("sideswipe", compile_literal_first(r"\bside[\s-]?swip\w*|\bside[\s-]?swept\b|\bswip(?:e|ed|es|ing)\b|\bside[\s-]to[\s-]side\b|\bscrap(?:ed|ing)\b")),
    ("angle", compile_literal_first(r"\bt[\s-]?bon\w*|\bbroadsid\w*|\bangle\s+(?:collision|crash|impact)|\bright[\s-]angle|\b\d{2}\s*-?\s*degree\s+angle")),
)
ROLLOVER = compile_literal_first(r"\broll(?:ed|ing|s)?\s+(?:over|onto|(?:\w+\s+){0,2}?times)\b|\broll(?:ed)?(?=\s*[,.]|\s+(?:and|coming|several|multiple)\b)|\brollover|\boverturn\w*|\bflip(?:ped|ping|s)?\b|\btipped\s+over|\bcame\s+to\s+rest\s+on\s+its\s+(?:roof|side|top)")
TURNING = compile_literal_first(r"\bturn(?:ed|ing|s)?\s+(?:to\s+(?:the\s+|its\s+|his\s+|her\s+)?)?(?:left|right|around)|\b(?:attempt\w*|began|start\w*|prepar\w*)\s+to\s+turn\b|\bturning\b|\b(?:left|right|u)[\s-]+(?:hand\s+)?turn")
INTERSECTION = compile_literal_first(r"\bintersect\w*|\bcrossover\b|\bjunction\b|\bdriveway\b|\bparking lot\b")
# "the left turning lane" is a place, not a turn
LEFT_TURN = compile_literal_first(r"\bturn(?:ed|ing|s)?\s+(?:to\s+(?:the\s+|its\s+|his\s+|her\s+)?)?left|\bleft[\s-]+(?:hand\s+)?turn(?!(?:ing|s)?[\s-]+(?:only\s+|or\s+straight\s+)?lanes?)|\bturn\s+left")

_DAMAGE_CODE = r"[lr][fb]q|[fb][lr]q|f[dlrc]|b[dlrc]|[lr][fdbp]"
# Vehicle planes: "front of V1", "V1's frontal plane", Texas damage codes "fd-bd".
PART = re.compile(
    r"(?<!in )\b(?P<front>front(?:al)?(?:\s+(?:plane|end|bumper|area|portion))?|hood|grille?|bumper\s+front|nose)\b"
    r"|\b(?P<back>back(?=\s+of\b)|back(?:\s+(?:plane|end|bumper|portion))|back\s+(?:left|right)\b(?!\s+(?:quarter|side|door|fender|panel))|rear(?!\s+(?:left|right|driver'?s?|passenger'?s?)(?:\s+side)?\s+quarter)(?!\s+(?:tires?|wheels?|axles?|seats?|occupants?|windows?|windshield|view|(?:left\s+|right\s+)?passengers?\s+(?!side|door|quarter)))(?:\s+(?:left|right|driver'?s?|passenger'?s?)(?:\s+side)?(?:\s+(?:bumper|quarter(?:\s+panel)?|corner|panel|door|fender))?"
    r"|\s+(?:plane|end|bumper|portion|area))?|tailgate|trunk)\b"
    r"|\b(?P<side>(?:rear|back)\s+(?:left|right|driver'?s?|passenger'?s?)(?:\s+side)?\s+quarter(?:\s+panel)?|(?:left|right|driver'?s?|passenger'?s?|near|far)(?:\s+(?:front|rear|back))?(?:\s+(?:passenger|driver)'?s?)?\s+(?:side|door|quarter\s+panel|fender|plane)(?:\s+plane)?"
    r"|side(?:\s+plane)?|(?:left|right)\s+(?:front|rear|back)\s+(?:corner|area|door|quarter(?:\s+panel)?|fender)|back\s+(?:left|right)\s+quarter(?:\s+panel)?)\b"
    # Texas damage-area codes (fd front distributed, bd back, lfq left front quarter, rp right panel, ...):
    # the ambiguous ones ("rd" road, "fr" frontage, "lp" plate) only right after a unit or "its",
    # or inside a damage rating ("6-bd-1", "12fd4")
    # (not after a block number: "the 1700 bl of s 18th st")
    r"|(?<!\d\d\d\s)(?:(?<=\d\s)|(?<=\d's\s)|(?<=\d'\s)|(?<=\bits\s)|(?<=\bit's\s)|(?<=\d-)|(?<=\d)|(?<=\())(?P<code>" + _DAMAGE_CODE + r")(?=\b|-?\d)"
    r"|\b(?P<code2>fd|bd|fc|bc|[lr][fb]q|[fb][lr]q|ld)\b"
)
DAMAGE_CODES = re.compile(r"\b(?:\d{1,2}-?)?(?P<a>" + _DAMAGE_CODE + r"|rear|front)(?:-?\d)?\s*(?:-|/|to|&|into)\s*"
                          r"(?:unit\s*#?\d'?s?\s+)?(?:\d{1,2}-?)?(?P<b>" + _DAMAGE_CODE + r")(?=\b|-?\d)")


def code_part(code: str) -> str:
    """The plane a damage code names: quarters and panels are the side."""
    if code.endswith("q") or code[0] in "lr":
        return "side"
    return "front" if code[0] == "f" else "back"
_HEADING_ENDS = r"(?:bound)?(?=\s*(?:[,.;]|$|\b(?:and|on|in|along|when|while|at|through)\b))"  # the direction ends the phrase
DIRECTION = re.compile(
    r"\b(?P<d>north|south|east|west|n|s|e|w)(?:\s*-?\s*bound|/?b)\b|\b(?:traveling|travelling|heading|headed|going|driving|proceeding|moving|facing)\s+"
    r"(?:(?:due|in\s+the|on|in)\s+)?(?P<d2>north|south|east|west)(?!\s+to\s+(?:the\s+)?(?:north|south|east|west)" + _HEADING_ENDS + ")"
    # "from west to east", "traveling south to north and ...": the second; not "north to West Main St"
    r"|\bfrom\s+(?:the\s+)?(?:north|south|east|west)\s+to\s+(?:the\s+)?(?P<d3>north|south|east|west)\b"
    r"|\b(?:north|south|east|west)\s+to\s+(?:the\s+)?(?P<d4>north|south|east|west)" + _HEADING_ENDS
)
SAME_DIRECTION = compile_literal_first(r"\bsame\s+direction|\bboth\s+(?:traveling|travelling|going|heading)\s+(?:north|south|east|west)")
OPPOSITE_DIRECTION = compile_literal_first(r"\bopposite\s+direction|\boncoming\b|\bopposing\s+(?:lane|direction|traffic)")
BACKING_ACTOR = compile_literal_first(BACKING)
# "the crash was a non-contact", "u1 and u2 did not make contact": no collision between the units ("a non-contact
# vehicle" is a third one)
NON_CONTACT = compile_literal_first(rf"\bnon[\s-]*contact\b(?!\s+(?:[\w-]+\s+)?(?:unit|party|third|{VEHICLE_NOUN}))|\bdid\s*n[o']?t\s+(?:make\s+)?contact\b"
                                    r"|\bno\s+contact\s+(?:was\s+made|between)")
ARRIVAL = compile_literal_first(r"\barriv(?:ed|es|ing|al)\b")  # the officer's arrival: the scene after the crash
PARKED = compile_literal_first(r"\b(?:legally\s+|illegally\s+|properly\s+)?parked\b|\bunoccupied\b|\bunattended\b")
ANIMAL = compile_literal_first(r"\b(?:" + _ANIMALS + r")\b")
# The thing that struck is a unit's load or part, not the unit: "one of the boxes fell off the truck (unit 2)
# and struck unit 1", "the tire blew out, causing tire rubber to collide with unit 2's windshield"
LOOSE_OBJECT_BEFORE = re.compile(
    r"\b(?:fell|came|flew|broke|blew)\s+(?:off|loose|out|away)\b[^.;]{0,60}?\band\s+(?:then\s+)?$"
    r"|\bcaus\w+\s+(?:(?:the|a|its|tire)\s+)*(?:rubber|debris|tire|tread|load|cargo|box(?:es)?|objects?|pieces?|parts?|wheel)\s+to\s+$")
