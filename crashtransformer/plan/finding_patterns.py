"""What reads like a factor but is no unit's finding: a guess, how a unit left after the crash, a
phone not used while driving, an impaired view, a vehicle no unit number names. plan/narrative.py
drops such factors; the claim checker (metrics/claim_facts.py) reads the impaired view the same way."""

from __future__ import annotations

import re

from crashtransformer.plan.literal_first import compile_literal_first

# A vehicle named by what it is, not by a unit number ("a non-contact pickup", "another vehicle")
VEHICLE_NOUN = r"(?:vehicle|veh|car|truck|suv|van|pickup|sedan|semi|motorcycle|motorist|tractor|bus|driver)"

# "could have been traveling at an unsafe speed", "appeared to be possibly speeding": a guess, not a finding
HEDGED_BEFORE = compile_literal_first(r"\b(?:possibly|probably|perhaps|maybe|(?:may|might|could)\s+have)\b[^.;,]{0,30}$")  # not "as hard as possible"
# "fled the scene at a high rate of speed": how a unit left, after the crash
AFTER_THE_CRASH_BEFORE = compile_literal_first(r"\b(?:fled|flee\w*|left\s+the\s+scene|drove\s+(?:off|away)|sped\s+(?:off|away))\b[^.;]{0,30}$")
# A unit that left without stopping to give its information: a hit-and-run striker, at fault when nothing else blames a
# unit (docs/labelling-guide.md); not "left the location after speaking with the drivers"
LEFT_THE_SCENE = compile_literal_first(r"\b(?:fled|flee(?:s|ing)?|fail\w*\s+to\s+stop\s+and\s+(?:give|render|leave|exchange|provide)|fsgi"
                                       r"|(?:left|drove\s+(?:off|away)|sped\s+(?:off|away))\s+(?:(?:the|from\s+the)\s+(?:scene|location)\s+)?"
                                       r"without\s+(?:stopping|giving|providing|exchanging|leaving|rendering)|sped\s+(?:off|away)"
                                       r"|did\s*n[o']?t\s+stop\s+(?:and|to)\s+(?:give|exchange|provide|render))\b")
# a unit named as what was struck or passed ("struck unit 2 and fled", "a collision with Unit 2", "backed into Unit 3"),
# not as the one who acted: read by the graph's hit-and-run units and the claim checker's subjects
OBJECT_BEFORE = re.compile(r"\b(?:struck|strikes?|striking|hit|hits|hitting|rear[\s-]?end(?:ed|ing)|sideswip(?:ed|ing)|contacted|with"
                           r"|into|behind|toward|towards|past|passing)\s+(?:the\s+)?$")
# "provided as a photo on his personal phone", "as i arrived ... on the phone about the incident": a phone not used driving
PHONE_NOT_DRIVING = compile_literal_first(
    r"\bas\s+a\s+photo|\bphoto\s+(?:taken|provided|shown|of\s+(?:the|his|her|a)\s+(?:tag|license|insurance|registration|plate))"
    r"|\babout\s+the\s+(?:incident|crash|accident|collision)|\b(?:i|officers?|deputy)\s+arrived|\bafter\s+the\s+(?:crash|collision|accident)")
# "visibility was severely impaired", "had impaired vision": the view, not the driver, was impaired
IMPAIRED_VIEW = re.compile(r"\b(?:visibility|vision|view|sight)\s+(?:\w+\s+){0,3}?impair\w*|\bimpair\w*\s+(?:\w+\s+)?(?:visibility|vision|view|sight)")
# "she observed a vehicle disregard the red light": a vehicle no unit number names did it, not the unit speaking
THIRD_PARTY_BEFORE = compile_literal_first(r"\b(?:a|an|another|other|unknown|the\s+other|non[\s-]*contact|third|white|black|silver)\s+"
                                           rf"(?:\w+\s+)?{VEHICLE_NOUN}\s+(?:that\s+|which\s+|who\s+|had\s+)?$")
