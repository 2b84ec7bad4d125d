"""The patterns behind offline plan extraction (plan/graph.py), compiled once at import.

Everything here runs on a *normalized* copy of the narrative (see `normalize`, after plan/scan_repair.py):
lower case, OCR look-alikes read as letters, non-ASCII debris blanked, and always the same length as
the text given, so a match's offsets are valid evidence spans into it.

Patterns were written from real police narratives (Texas CRIS, NHTSA CISS) and generalise
over word order, inflection, filler words ("failed to control HIS speed") and the officers'
abbreviations (FTCS, FTYROW, FDSL), rather than listing fixed phrases.
"""

from __future__ import annotations

import re

from crashtransformer.plan.finding_patterns import VEHICLE_NOUN
from crashtransformer.plan.scan_repair import guessed_letters, repair
from crashtransformer.plan.literal_first import (
    compile_literal_first,
    top_level_alternatives,
)

# ----------------------------------------------------------------------------- normalization
_NON_ASCII = {code: " " for code in range(128, 0x3000)}  # "â " debris etc. -> blank, same length
_WORD = r"[a-z']+"
_GAP = r"(?:[a-z0-9'#\-]+\s+){0,%d}?"  # up to N filler words, lazily


def gap(words: int) -> str:
    return _GAP % words


def normalize(text: str) -> str:
    """Lower-cased text of exactly the same length (offsets stay valid), look-alike digits read as
    the letters they most often are (plan/scan_repair.py, which mends a narrative before this)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few Unicode letters change length when lowered
        lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    return guessed_letters(lowered.translate(_NON_ASCII))


def normalize_narrative(narrative: str) -> str:
    """A narrative as the patterns read it: a scan's broken words mended, then normalized."""
    return normalize(repair(narrative or "")[0])


# ----------------------------------------------------------------------------- entities
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
UNIT = re.compile(
    r"(?:\b|(?<=\d))(?:(?:unit|un[il]t|nit|veh(?:icle)?|vehcile|vechicle|car|driver|op[ea]{1,2}rat[oe]r|motorist)s?\.?\s*(?:-|#|no\.?|\()?\s*0*(?P<n>[1-9]\d?|"
    + "|".join(NUMBER_WORDS) + r")(?:\b|(?=s\b))"  # "unit 2s left side", "unit twos rear": a possessive without its apostrophe
    r"|(?P<short>[uv])\s?-?#?0*(?P<sn>[1-9]\d?)(?=\b|'|s\b))"
    # a bare "#1" only as a subject ("#1 was traveling nb"): "the #2 lane" is a lane
    r"|(?<![\w#])(?<!lane\s)(?<!exit\s)(?<!fm\s)(?<!no\s)(?<!number\s)(?<!the\s)"
    r"#\s?0*(?P<hn>[1-9])(?=\s+(?:was|were|had|then|failed|slowed|started|did|could|travel(?:ed|ing|led|ling|s)|merged"
    r"|struck|collided|hit|and\s+#)\b)"
)
# OCR glues a sentence's last word to the next "unit 1" ("ahead of himunit 1 failed to ..."): that unit counts
GLUED_UNIT = compile_literal_first(r"unit\s*#?\s*0*(?P<n>[1-9]\d?)\b")
# "units 2, 3 and 4", "unit 1 & 2": the further numbers of a list that starts with a unit
UNIT_LIST_TAIL = re.compile(r"\s*(?:,\s*(?:and\s+|&\s*)?|and\s+|&\s*|/\s*)#?\s*0*(?P<n>[1-9])\b(?!\s*(?:years|yoa|mph|ft|feet|miles|%|:|[.,]\d))")
# A rig: "unit 1 (towing unit 2)", "unit 1 was towing unit 2", "unit 1 with towed unit 2"; "unit 2 (towed by unit 1)"
# "unit 1 towing unit 2", "unit 1 while towing unit 2", "unit 1/towed unit 2"
TOWING_AFTER = re.compile(r"\s*[(,/]?\s*(?:which\s+|who\s+|while\s+)?(?:was\s+|is\s+|were\s+)?(?:towing|pulling|hauling|(?:with\s+(?:a\s+|the\s+)?)?towed)\s+(?=\S)")
TOWING_UNIT = re.compile(r"\b(?:towing|pulling|hauling)\s+(?=unit|veh|v\d|u\d|#)")
# "unit 2 and unit 3 (trailer)": the unit named a trailer is towed by the one it is named with
TRAILER_NAMED = re.compile(r"\s*\(\s*(?:a\s+|the\s+|its\s+)?(?:\w+\s+)?trailer\s*\)")
RIG_GLUE = re.compile(r"\s*(?:and|&|,|with)\s*")
TOWED_BY_AFTER = re.compile(r"\s*[(,]?\s*(?:which\s+|who\s+)?(?:was\s+|is\s+)?(?:being\s+)?towed\s+by\s+(?=\S)")
PEDESTRIAN = compile_literal_first(r"\b(?:pedestrians?|pedestrain|pedestian|peds?\b|pedes\b|person (?:walking|on foot)|walker|jogger)")
CYCLIST = compile_literal_first(r"\b(?:bicyclists?|bicycles?|bicycl\w*|cyclists?|peda(?:l\s?)?cycl\w*|bikes?\b|bike rider)")
FIXED_OBJECT = compile_literal_first(
    r"\b(?:(?:utility|light|power|telephone|phone|street ?light|sign|traffic signal|signal|electric|wooden|metal)\s+poles?"
    r"|poles?|trees?|fences?|guard ?rails?|guard ?wall|(?:cable |median |metal |hand ?)?railings?|(?:gas |water |electric )?meters?|bollards?|dumpsters?|"
    r"(?:center |concrete |raised )?medians?|(?:concrete |jersey |cable |median )?barriers?|barricades?"
    r"|curbs?|walls?|buildings?|mail ?box(?:es)?|ditch(?:es)?|culverts?|(?:fire )?hydrants?|bridge (?:rail|pillar|column|abutment)s?"
    r"|pillars?|columns?|posts?|gates?|(?:street |stop |traffic |yield |direction |road |highway |speed limit )?signs?"
    r"|houses?|residences?|garages?|embankments?|boulders?|rocks?|attenuators?|crash cushions?|light standards?"
    r"|parked (?:vehicles?|cars?|trucks?|trailers?)|(?:an? |the )?(?:unoccupied|unattended) (?:vehicles?|cars?|trucks?))\b"
)
# Words that look like objects but are only where something was ("stop sign" as traffic control
# is a fixed object only when struck; plan/graph.py only attaches objects that follow a collision verb).
ROAD = re.compile(
    r"\b(?:\d{2,6}\s*(?:-\s*)?(?:blk|block)\s+of\s+(?:the\s+)?[a-z0-9 .\-]{2,40}?"
    r"(?=\s*(?:[,;]|\.\s|\.$|\bin\b|\bat\b|\band\b|\bwhen\b|\bwhile\b|\bfacing\b|$))"
    r"|(?:ih|i|us|sh|fm|rm|cr|sl|loop|spur|state highway|interstate|farm to market road|county road)\s?-?\s?\d{1,4}\b"
    r"|intersection of [a-z0-9 .]{2,30}? and [a-z0-9 .]{2,30}?(?=[,;.]|\s(?:in|at|when|while)\b))"
)


# A unit that is a person on foot or on a bicycle (CRIS numbers them as units too):
# "Unit 2 was walking", "Unit 1 was riding a bicycle", "the pedestrian, Unit 2", "Unit 2 (pedestrian)".
_ON_FOOT = r"(?:walk(?:ing|ed)|standing\s+(?:in|on|near|beside|at)\s+(?:the\s+)?(?:road|street|roadway|crosswalk|median|shoulder|curb|sidewalk)|jogging|running\s+(?:\w+\s+)?across|on\s+foot|pedestrian|pedestrain|crossing\s+(?:the\s+)?(?:street|road|roadway))"
_ON_BIKE = r"(?:rid(?:ing|den)\s+(?:a\s+|his\s+|her\s+|their\s+)?(?:bicycle|bike|bicyle)|(?:bi)?cyclist|bicyclist|on\s+(?:a\s+)?(?:bicycle|bike))"
ROLE_AFTER = re.compile(rf"[\s,(]*(?:(?:who\s+|which\s+)?(?:was|were|is|had\s+been)\s+(?:\w+\s+){{0,2}}?|\(|,\s*(?:a|the)\s+)?(?:(?P<ped>{_ON_FOOT})|(?P<bike>{_ON_BIKE}))")
ROLE_BEFORE = re.compile(r"(?:(?P<ped>pedestrian|pedestrain)|(?P<bike>(?:bi)?cyclist|bicycle\s+rider|rider))[\s,]*(?:\(|,)?\s*$")


def unit_number(match: re.Match) -> int:
    raw = match.group("n") or match.group("sn") or match.group("hn")
    return int(raw) if raw.isdigit() else NUMBER_WORDS[raw]


# ----------------------------------------------------------------------------- sentences
# A sentence ends at . ! ? ; or a line break, but not inside a number ("29.681"), before a unit
# number ("veh. 1") or after officers' abbreviations that carry a period ("trav. N/B").
_NO_BREAK_AFTER = ("trav", "approx", "apprx", "blk", "int", "veh", "drvr", "pass", "est", "mr", "mrs", "ms", "ft", "u.s")
# "w. sh-29", "s. bowen rd": a direction letter abbreviates a road's prefix ten times as often as it
# ends a sentence, so its period ends one only before a new subject
_DIRECTION_STOP = r"(?:(?<!\b[nsew]\.)|(?=\s+(?:unit|vehicle|veh|v\d|u\d|driver|both|there|it|he|she|they)\b))"
# "preston rd. in the left lane", "briarcrest dr. turning left": a road's abbreviation ends a
# sentence only before a word that starts one
_ROAD_ABBREVIATIONS = ("rd", "dr", "st", "blvd", "ave", "ln", "pkwy", "hwy", "fwy", "cir", "trl", "expy")
_ROAD_STOP = ("(?:" + "".join(rf"(?<!\b{word}\.)" for word in _ROAD_ABBREVIATIONS)
              + r"|(?=\s+(?:unit|vehicle|veh|v\d|u\d|driver|both|there|it|he|she|they|the|a|an|i|after|at|on|upon|while|when"
                r"|as|witness\w*|no|this|officer|due|according|based)\b|\s*[#\d]))")
_US_HIGHWAY = r"(?!(?<=\bu\.)s\.)"  # the first period of "u.s. hwy 83" ends nothing
SENTENCE_END = compile_literal_first(r"[.!?;]" + "".join(rf"(?<!\b{word}\.)" for word in _NO_BREAK_AFTER) + _US_HIGHWAY
                                     + _DIRECTION_STOP + _ROAD_STOP
                                     + r"[.!?;]*(?!\s*[#\d])|\n\s*\n")  # punctuation first: the engine skips ahead to it; one line break is OCR's, not a sentence end
# "unit 1 was behind unit 2 (at the light) and <verb>": the verb's subject is the clause's first unit
AND_THEN = re.compile(r"(?:\s*\([^)]{0,30}\)|\s+(?:at|in|on|near)\s+[^,.;()]{0,40}?)?\s*,?\s*and\s+(?:then\s+|also\s+)?$")
# "unit 2 struck unit 4 due to following too close": the cause is the striker's, not its object's
DUE_TO = re.compile(r"\W*(?:\w+\s+){0,3}?(?:due\s+to|because\s+of|as\s+a\s+result\s+of)\s+(?:(?:his|her|their|its|the)\s+)?(?:\w+\s+){0,1}?$")
# "unit 1 driver who was traveling behind unit 2 advised ...": the relative clause's unit is the speaker
RELATIVE_AFTER = re.compile(r"\s*,?\s*(?:driver\s+|operator\s+)?(?:who|which)\b")
SPEAKER_GLUE = re.compile(r"^\s*(?:'s\s+)?(?:driver|operator|dvr|drvr)?\s*(?:also\s+|then\s+|later\s+)?$")  # "unit 2('s) driver stated"
SPEECH = re.compile(r"\b(?:advised|stated|said|told|admitted|reported|explained)\b")
# A sentence that carries on the one before ("...westpark twy. and failed to control speed"): its subject is there
# "unit 1 was traveling behind unit 2, failed to control speed": the unit after "behind" is the object, not who failed
OBJECT_OF = re.compile(r"\b(?:in\s+front\s+of|behind|ahead\s+of|following|followed|next\s+to|beside|alongside"
                       r"|(?:drove|went|pulled|swerved)\s+around|passed|passing|overt(?:ook|aking|ake))\s+(?:the\s+)?$")  # "u1 drove around u2 in a no passing zone": u1
CONTINUATION = re.compile(r"\s*(?:and|then|but|which|who|fail\w*|disregard\w*|ran|struck|strik\w+|collid\w+|hit|caus\w+|turned|proceed\w*)\b")
# "driver unit 2 claimed that unit 1 changed lanes when unsafe": a party's claim, not the officer's finding
CLAIMED_BEFORE = compile_literal_first(r"\b(?:reportedly|allegedly|claim(?:s|ed|ing)|alleg(?:es|ed|ing)|accus(?:es|ed|ing)|blam(?:es|ed|ing)|insist(?:s|ed|ing))\b")
CLAUSE_BREAK = re.compile(r",\s|\b(?:but|however|video|witness(?:es)?|the\s+officer|i)\s")  # where a claim's clause ends
# "deprived unit 2 of the ability to yield", "gave unit 1 no time to yield": a unit kept from yielding did not
# fail to ("had ample time to yield" is no such thing)
KEPT_FROM = re.compile(r"\b(?:depriv\w*|prevent\w*|kept|no|not|without|n't|never|unable|lack\w*)\b[^.;]{0,40}?"
                       r"\b(?:ability|chance|opportunity|time|room)\s+(?:\w+\s+){0,3}?to\s+$")
NEGATION_BEFORE = compile_literal_first(r"\b(?:no|not|never|nor|negative|without|denied|denies|deny|ruled out|none|0|zero)\b[^.;]{0,25}$")  # "0 clues of"
# "alcohol was not a factor", "phone not in use", "intoxication results are pending"; "... and could not stop"
# negates the stopping, not the factor
NEGATION_AFTER = re.compile(r"^[^.;]{0,12}\b(?:(?:was|were|is|are)\s+not|negative|ruled\s+out|results?\s+(?:are\s+|is\s+|were\s+)?pending)\b|^[\s,]*(?:\w+\s+)?not\b(?!\s+(?:stop|see|notice|avoid))")

# ----------------------------------------------------------------------------- contributing factors
_YOU = r"(?:his|her|their|there|its'?|the|a|an|unit'?s?|vehicle'?s?|motor|own|my|your)"  # "their motor vehicle speed", "there speed"
# "the failure of unit 1's driver to control speed": the unit inside is the one that failed (narrative.py, claims.py)
_FAIL = r"(?:\bfailure\s+of\s+(?:[\w#]+'?s?\s+){1,4}?to|fa[il]l(?:ed|ing|ure|s)?|faild|fialed|did\s+not|didn'?t|neglected|fta)"
_CONTROL_SPEED = rf"(?:{_FAIL}\s+(?:to\s+|in\s+)?(?:control(?:l?ing|led|s)?|contol|conrol|cont\.?|contr\.?|ctrl\.?)|\bftc)\s+(?:{_YOU}\s+)*(?:speed|spd|velocity)"
_YIELD = (
    rf"(?:{_FAIL}\s+(?:to\s+)?(?:yield|yeild|yiled|yeld|yld|give\s+(?:the\s+)?(?:right[\s-]+of[\s-]+way|row)\b)|\bfailure\s+of\s+(?:\w+'?s?\s+){{1,4}}?to\s+(?:yield|yeild)|\bwithout\s+yielding"
    r"|\bftyr?o?w?\b|\bfty\b|failure\s+to\s+grant"
    r"|(?:yield|yeild)(?:ed)?\s+(?:the\s+)?right[\s-]+(?:of[\s-]+)?(?:way|away))"
)
_RAN = r"(?:disregard(?:ed|ing|s)?|ran(?:\s+through)?|run(?:s|ning)?(?:\s+through)?|ignor(?:ed|ing)|blew|blow(?:ing)?|went\s+through|rolled\s+through|drove\s+through|proceeded\s+through|entered\s+(?:the\s+intersection\s+)?(?:on|against))"

# A unit reversing (plan/collision_patterns.py BACKING_ACTOR too); "traffic was backed up", "the lane was
# backed up with traffic" is a queue, not a unit reversing
_QUEUE_BEFORE = "".join(rf"(?<!{what} {verb} )" for what in ("traffic", "lane", "lanes", "road", "roadway", "cars", "vehicles")
                        for verb in ("was", "were", "is", "are", "being", "got")) + r"(?<!traffic )"
BACKING = (_QUEUE_BEFORE + r"\bback(?:ed|ing)\b(?!\s+(?:plane|end|bumper|side|of))(?!\s+up\s+(?:with|due|because)\b)"
           r"|\bbacks?\s+(?:up|out)\b|\brevers(?:ed|ing)\b|\bin\s+reverse\b")

FACTOR_PATTERNS: dict[str, tuple[str, ...]] = {
    "failed_to_control_speed": (
        _CONTROL_SPEED,
        r"\bftcs(?:\b|(?=unit))|\bf\.t\.c\.s\b|\bfail(?:ed|ure)?\s+to\s+control\s+speed",  # "ftcsunit 1": lines run together
        r"speed\s+(?:was\s+)?not\s+controlled",
        rf"{_FAIL}\s+(?:to\s+)?slow(?:\s+down)?\b",  # "failed to slow down causing a collision": CR-3's speed factor
    ),
    "unsafe_speed": (
        r"\bunsafe\s+(?:speed|spd)|\bspeed(?:ing)?\s+(?:too\s+fast|unsafe)|\b(?:high|excessive|unsafe|great|extreme)\s+(?:rate\s+of\s+)?speeds?",
        r"\bspeeding\b|\btoo\s+fast\b|\bexceed(?:ed|ing)?\s+(?:the\s+)?(?:posted\s+)?speed|\bracing\b|\bspeed\s+(?:too\s+fast|greater\s+than)",
    ),
    "followed_too_closely": (
        r"\bfollow(?:ed|ing|s)?\s+" + gap(3) + r"(?:too|to|2)\s+clos(?:e|ely|ly)\b",
        r"\bftc\b(?!\s+(?:speed|spd))|\binsufficient\s+following\s+distance|\b(?:unsafe|safe)\s+following\s+distance|\btailgat(?:ed|ing|er)\b",
        # "they were too close to unit 2": not a truck's tailgate, not "came too close to the curb"
        r"\b(?:was|were|been|being|got|getting)\s+(?:\w+\s+)?too\s+close\s+(?:to|behind)\s+(?:unit|veh|vehicle|[uv]-?\d|the\s+(?:vehicle|car|truck))",
    ),
    "disregarded_signal": (
        _RAN + r"\s+(?:the\s+|a\s+)?(?:steady\s+|solid\s+)?(?:red\s+(?:light|signal|traffic\s+(?:light|signal))|redlight|traf(?:fic|\.)?\s+(?:signal|light|control\s+signal)|signal\s+light|stop\s*light)",
        # CRIS's factor name "disregard stop and go signal" is the traffic light
        r"\bdisregard(?:ed|ing|s)?\s+(?:the\s+|a\s+)?(?:signal|light|traffic\s+control(?!\s+sign)|stop\s+and\s+go\s+signal)",
        r"\b(?:fail(?:ed|ure)?|did\s+not|didn'?t)\s+(?:to\s+)?(?:stop\s+(?:at|for)|obey(?:\s+(?:at|for))?)\s+(?:the\s+|a\s+)?(?:steady\s+)?(?:red\s+|stop\s+)?(?:traf(?:fic|\.)?\s+)?(?:light|signal)",
        r"\bhad\s+(?:a\s+|the\s+)?(?:steady\s+)?red\s+(?:light|signal)\s+(?:and\s+)?(?:still\s+)?(?:entered|proceeded|went|continued|drove)",
        # "entered on a red light" is a finding; "had stopped on a red light" is a unit waiting at one
        r"(?<!stopped\s)(?<!waiting\s)(?<!stationary\s)\b(?:on|against)\s+(?:a\s+|the\s+)?(?:steady\s+)?red\s+(?:light|signal)\b|\bred\s+light\s+runn\w*",
        # "failed to obey the traffic signal", "failed to obey a traffic control device (red light)"
        r"\b(?:fail(?:ed|ure)?|did\s+not|didn'?t)\s+(?:to\s+)?obey\s+(?:the\s+|a\s+)?(?:traffic\s+control\s+(?:device|signal)s?"
        r"\s*\(?\s*(?:a\s+|the\s+)?(?:steady\s+)?(?:red|signal|traffic\s+(?:light|signal))|(?:steady\s+)?red\s+(?:light|signal)"
        r"|traf(?:fic|\.)?\s+(?:signal|light)|signal\s+light)",
    ),
    "disregarded_stop_sign": (
        _RAN + r"\s+(?:the\s+|a\s+)?(?:posted\s+)?stop\s*sign(?!\s*(?:/|or)\s*lights?)",
        r"\b(?:fail(?:ed|ure)?|did\s+not|didn'?t|neglected)\s+(?:to\s+)?(?:stop|obey|come\s+to\s+a\s+(?:complete\s+)?stop)\s+(?:at|for)\s+(?:the\s+|a\s+)?(?:posted\s+)?stop\s*sign",
        # not CR-3's factor name "disregard stop sign/light" (a red light as often as a sign)
        r"\bdisregard(?:ed|ing|s)?\s+(?:the\s+|a\s+)?stop\b(?!\s+and\s+go)(?!\s*signs?\s*(?:/|or)\s*lights?)(?!\s*lights?)|\brolling\s+stop\b",
        # "failed to obey the stop sign", "failed to obey a traffic control device (stop sign)"
        r"\b(?:fail(?:ed|ure)?|did\s+not|didn'?t)\s+(?:to\s+)?obey\s+(?:the\s+|a\s+)?(?:posted\s+)?"
        r"(?:traffic\s+control\s+(?:device|sign)s?\s*\(?\s*(?:a\s+|the\s+)?)?stop\s*sign",
    ),
    "unsafe_lane_change": (
        r"\b(?:unsafe(?:ly)?|improper(?:ly)?|illegal(?:ly)?)\s+(?:(?:left|right)\s+)?(?:lane\s+change|chang(?:ed|ing|e)\s+(?:of\s+)?lanes?|merg\w*)",
        r"\b(?:chang|switch)(?:ed|ing|e|es)\s+lanes?\s+" + gap(3) + r"(?:unsafe(?:ly)?|when\s+unsafe|while\s+unsafe|improperly|without\s+(?:safety|signal\w*|clearance|checking|making\s+sure))",
        r"\blane\s+change\s+(?:when|while)?\s*unsafe|\bunsafe\s+lane\b|\bclwu\b|\bcluw\b|\bchang(?:ed|ing|e)\s+lanes?\s+when\s+un-safe",
        # a lane change the officer names as the collision's cause: "changed lanes ... causing a collision with"
        # ... or a move into another lane that ends in the contact: "attempted to move to the right lane and struck unit 2"
        r"\b(?:attempt(?:ed|ing)?\s+(?:to\s+)?)?chang(?:ed|ing|e)\s+(?:into\s+)?lanes?\b[^.;]{0,60}?\b(?:caus\w+\s+(?:a\s+|the\s+)?collision|and\s+(?:struck|hit|collided)|strik\w+|hitting|collid\w+)",
        r"\b(?:attempt(?:ed|ing)?\s+(?:to\s+)?)?(?:mov|switch)(?:e|ed|ing)\s+(?:in|into|to|onto)\s+(?:the\s+)?(?:\w+\s+){0,2}?lane\s+"
        r"(?:and\s+(?:struck|hit|collided|made\s+contact)|strik\w+|hitting|collid\w+)",
        r"\b(?:chang(?:ed|ing)|switch(?:ed|ing)|merg(?:ed|ing)|mov(?:ed|ing))\s+(?:lanes?\s+)?" + gap(4)
        + r"(?:into|in\s+front\s+of)\s+(?:the\s+path\s+of|the\s+side\s+of|unit|veh|vehicle|[uv]-?\d)",
    ),
    "failed_single_lane": (
        rf"{_FAIL}\s+(?:to\s+)?(?:drive|stay|remain|maintain|keep|travel)\s+" + gap(3)
        + r"(?:(?:in|within)\s+)?(?:a\s+|one\s+|its\s+|his\s+|her\s+|their\s+|the\s+|own\s+)*(?:single\s+(?:lane|ln)|lane|ln)\b",
        r"\bf\.?t\.?d\.?i?\.?s\.?l\b|\b(?:drift|veer)(?:ed|ing|s)?\s+" + gap(3) + r"(?:into|across|out\s+of|over|onto|from)|\bweav(?:ed|ing)\b",
        r"\b(?:crossed|cross(?:ing)?|went)\s+(?:over\s+)?(?:the\s+)?(?:center|centre|lane|fog|solid|double)\s+(?:line|stripe|divider)",
    ),
    "improper_passing": (
        r"\b(?:unsafe(?:ly)?|improper(?:ly)?|illegal(?:ly)?)\s+pass(?:ed|ing|es)?\b",
        r"\bpass(?:ed|ing|es)?\s+" + gap(5) + r"(?:unsafely|improperly|illegally|when\s+unsafe|in\s+a\s+no[\s-]+passing|on\s+the\s+(?:right|shoulder))",
        r"\bno[\s-]+passing\s+zone|\battempt(?:ed|ing)?\s+to\s+pass\b|\b(?:began|started)\s+to\s+pass\b",
        r"\bfail(?:ed|ure)?\s+to\s+pass\s+" + gap(4) + r"safely|\b(?:pass(?:ed|ing)|over\s*t(?:ook|aking))\b[^.;]{0,40}?\binsufficient\s+clearance",
    ),
    "wrong_way": (
        r"\bwrong\s+(?:way|direction)|\bwrong\s+side\s+of\s+(?:the\s+)?(?:road|roadway|highway|street)",
        r"\bagainst\s+(?:the\s+)?(?:flow\s+of\s+)?traffic\b|\bcontra[\s-]?flow",
    ),
    "turned_improperly": (
        r"\b(?:improper(?:ly)?|unsafe(?:ly)?|illegal(?:ly)?|wide)\s+(?:(?:right|left|u)[\s-]*)?turn",
        r"\bturn(?:ed|ing|s)?\s+" + gap(3) + r"(?:improperly|unsafely|illegally|wide|from\s+the\s+wrong\s+lane|from\s+(?:the\s+|a\s+)?(?:straight|through)\s+(?:only\s+)?lane)",
        # a U-turn is a movement, not a fault: only an illegal or unsafe one (above) is turned_improperly
        # CR-3's factor "turned when unsafe"; "made an incorrect left-hand turn"
        r"\bturn(?:ed|ing|s)?\s+(?:(?:left|right)\s+)?(?:when|while)\s+un-?safe|\bincorrect(?:ly)?\s+(?:(?:right|left|u)[\s-]*(?:hand\s+)?)?turn",
    ),
    "driver_inattention": (
        r"\binattent\w*|\b(?:not|n't|wasn't|was\s+not|were\s+not)\s+pay(?:ing)?\s+(?:close\s+)?attention|\bnot\s+attentive",
        r"\bdistract(?:ed|ion|ing)?\b(?!\s+by\s+" + gap(2) + r"(?:cell|mobile|phone|text))",
        r"\b(?:looked|looking|glanced|glancing)\s+(?:away|down|back|over|at\s+(?:the|his|her|a)\s+(?:radio|gps|passenger|child))"
        r"|\blost\s+focus|\b(?:not|n't|wasn't|was\s+not)\s+(?:watching|looking\s+at)\s+(?:the\s+)?(?:road|traffic|where)|\bfailed\s+to\s+(?:see|notice|observe|pay\s+attention)|" + _FAIL + r"\s+(?:to\s+)?(?:maintain|keep|pay)\s+(?:(?:proper|close|full|his|her|their|its)\s+)?attention|(?<!\bi\s)\bnever\s+saw\b|(?<!\bi\s)\bdid\s*n[o']?t\s+(?:see|notice|observe|realize)\b(?!\s+(?:unit|veh\w*|[uv])\s*#?\s*\d+\s+(?:stop|slow|yield|signal|brake)\b)"  # not "i did not notice", nor "did not see unit 1 stop": a witness
        r"|\bunaware\s+(?:of|that)\b|\bcheck(?:ed|ing)\s+(?:his|her|their|the)\s+(?:gps|map|navigation|radio)|\bturned\s+(?:around|behind\s+(?:him|her|them))\s+to\s+look"
        r"|\blook(?:ed|ing)\s+at\s+(?:a|an|the)\s+\w+\s+off\s+the\s+road|\breturn(?:ed|ing)\s+(?:his|her|their)\s+attention"
        r"|\breach(?:ed|ing)\s+(?:down|over|back|for)\b|\blook(?:ed|ing)\s+(?:down\s+)?at\s+(?:his|her|their|a|the)\s+(?:radio|gps|screen|navigation|food|drink|passenger|child|kids?)",
    ),
    "cell_phone": (
        r"\b(?:using|on|looking\s+at|(?<!\bi\s)check(?:ed|ing)?|reading|holding|texting\s+on|talking\s+on|look(?:ed|ing)\s+(?:down\s+)?at|distracted\s+by|"
        r"manipulating|answering|dialing|dropped|reaching\s+for|picked\s+up|grab\w*|(?:the\s+)?use\s+of)\s+" + gap(2) + r"(?:cell(?:ular)?\s*phone|cellular|phone|mobile|smart\s*phone|device)",
        # a phone named without its use ("photographed with my department-issued cell phone") is not a cause
        r"\btexting\b|\btext\s+messag\w*|\bcell(?:ular)?\s*phone\s+(?:use|usage|distraction)",
    ),
    "under_influence_alcohol": (
        r"\bintox\w*|\bhad\s+been\s+drinking|\bdrinking\s+(?:alcohol|beer|and\s+driving)|\b(?:was|were|appeared|being)\s+impaired\b(?!\s+by\s+(?:drugs|narcotics|medication|the\s+sun|sun|glare|fog))|\bdwi\b|\bdui\b|\balcohol\w*\b(?!\s+(?:analysis|test\w*|screen\w*|results?|beverage\w*|containers?|bottles?|cans?))|\bdrunk\w*|\bbac\b|\bbreath\s+(?:test|sample)|\bfield\s+sobriety",
        r"\bunder\s+the\s+influence\b(?!\s+of\s+(?:drugs|narcotics|a\s+controlled|marijuana|medication))|\b(?:beer|liquor|whiskey|vodka)\b",
    ),
    "under_influence_drugs": (
        r"\bduid\b|\bdrugs?\b(?!\s*stores?)|\bdrugged|\bnarcotic\w*|\bmarijuana|\bcannabis|\bthc\b|\bcocaine|\bmeth(?:amphetamine)?\b|\bopioid|\bfentanyl",
        r"\bunder\s+the\s+influence\s+of\s+(?:drugs|narcotics|a\s+controlled|marijuana|medication)|\bcontrolled\s+substance|\bdwi[\s-]+drugs?",
    ),
    "fatigued": (
        r"\b(?:fell|fallen|falling|fall|was|had\s+been|being)\s+asleep|\basleep\s+at\s+the\s+wheel|\bdoz(?:ed|ing)\s+off|\bnodd(?:ed|ing)\s+off",
        r"\bfatigu\w*|\bdrowsy|\bdrowsiness|\bsleepy|\btired\b|\bfell\s+a\s*sleep|\bsleep\s+deprived",
    ),
    "ill": (
        r"\bseizures?|\bmedical\s+(?:emergency|episode|condition|event|issue|problem)|\bdiabet\w*|\b(?:passed|blacked)\s+out|\blost\s+consciousness",
        r"\bheart\s+attack|\bstroke\b|\bfaint(?:ed|ing)|\b(?:became|was|felt|feeling|being)\s+(?:ill|sick|dizzy|lightheaded)\b|\billness\b|\bhypoglyc\w*",
    ),
    "backed_without_safety": (
        BACKING,
        r"\bunsafe(?:ly)?\s+back\w*|\bimproper(?:ly)?\s+back\w*|\bbacked\s+without\s+safety",
    ),
    "unsafe_start": (
        r"\bunsafe(?:ly)?\s+start|\bstart(?:ed|ing)?\s+" + gap(3) + r"(?:unsafely|from\s+(?:a\s+|the\s+)?(?:parked|stopped|standing)\s+position)",
        r"\bleft\s+(?:the\s+|a\s+|its\s+|his\s+|her\s+)?(?:parking\s+(?:spot|space|position)|curb|parked\s+position)"
        r"|\bpull(?:ed|ing)?\s+(?:away\s+|out\s+)?from\s+(?:the\s+|a\s+)?(?:curb|parked\s+position|parking\s+(?:space|spot|position))",
    ),
    "overcorrected": (r"\bover[\s-]?correct\w*|\bovercorect\w*|\bover\s+steer\w*|\boversteer\w*",),
    "faulty_evasive_action": (
        r"\b(?:faulty|improper|unsafe)\s+evasive",
        # evading something in the road is the Texas code; evading another unit or a collision, then striking, is not
        # ("took evasive action to avoid unit 1", "swerved to avoid another vehicle")
        r"\b(?:swerv(?:ed|ing)\s+" + gap(3) + r"|(?:took|take|taking|made|making)\s+(?:an?\s+)?evasive\s+(?:action|maneuvers?|movements?|measures)\s+)"
        r"to\s+avoid\b(?!\s+(?:an?\s+|the\s+|another\s+)?(?:non[\s-]*contact\s+|other\s+)?(?:collision|crash|striking|hitting|colliding"
        rf"|unit|traffic|pedestrian|{VEHICLE_NOUN})\b)"
        r"|\bjerked\s+the\s+(?:steering\s+)?wheel",
    ),
    "defective_brakes": (
        r"\b(?:defective|faulty|bad|worn(?:\s+out)?|malfunctioning|failed|failing|no|inoperable)\s+brakes?\b",
        r"\bbrakes?\s+(?:had\s+)?(?:failed|failure|fail(?:ing)?|went\s+out|gave\s+out|malfunction\w*|did\s*n[o']?t\s+work|were\s+(?:defective|not\s+working|bad|out)|stopped\s+working|locked\s+up)"
        r"|\bbrake\s+(?:failure|malfunction|line)|\blost\s+(?:his\s+|her\s+|their\s+|its\s+|the\s+)?brakes",
    ),
}

# Yield factors: one phrase, resolved by what it is about (stop sign, left turn, ...).
YIELD = compile_literal_first(_YIELD)
YIELD_CONTEXT: tuple[tuple[str, re.Pattern], ...] = (
    ("yield_pedestrian", compile_literal_first(r"\b(?:pedestrians?|pedestrain|peds?|crosswalk|cross\s+walk|person\s+walking)\b")),
    ("yield_yield_sign", compile_literal_first(r"\byield(?:ing)?\s+sign")),
    ("yield_stop_sign", compile_literal_first(r"\bstop\s*sign|\bstop\s+bar|\bstop\s+intersection|\b(?:4|four|2|two)[\s-]way\s+stop|\bstopped\s+at\s+the\s+stop")),
    # a left turn out of a driveway or lot is the driveway's yield (docs/labelling-guide.md); into one, the turn's
    ("yield_private_drive", compile_literal_first(r"\b(?:from|out\s+of|exit(?:ed|ing|s)?|leav(?:e|es|ing)|facing\s+\w+\s+(?:on|in))\s+"
                                       r"(?:an?\s+|the\s+)?(?:private|driveway|parking\s+lot|business|alley)|\(private")),
    # a U-turn that failed to yield is the left-turn yield (docs/labelling-guide.md)
    ("yield_turning_left", compile_literal_first(r"\bturn(?:ed|ing|s)?\s+(?:to\s+(?:the\s+)?)?left|\bleft[\s-]+(?:hand\s+)?turn(?![\s-]+lanes?)|\bturn\s+left|\bu[\s-]?turn")),
    ("yield_private_drive", compile_literal_first(r"\bprivate\s+(?:drive|dr|driveway|road|property)|\bdriveway|\bparking\s+(?:lot|space|area|garage)|\balley|\bprivate\b")),
)
# Pedestrians and cyclists who act themselves (subject of the sentence).
PEDESTRIAN_ACTS = compile_literal_first(
    r"\b(?:darted|dashed|ran|run(?:ning)?|jumped|stepped|rode|riding|swerved|cut|pulled|emerged|came|entered)\s+" + gap(4)
    + r"(?:into|in\s+front|across|through|out|against|from\s+between)"
    r"|\b(?:crossed|crossing|walked|walking|cross)\s+" + gap(4)
    + r"(?:against|mid[\s-]?block|outside|not\s+(?:in|at|within)|in\s+front\s+of|into\s+the\s+path|without)"
)

# A factor that leaves no doubt about the manner, used when no manner cue was written.
IMPLIED_MANNER = {
    "followed_too_closely": "rear_end",
    "backed_without_safety": "backing",
    "yield_pedestrian": "pedestrian",
    "pedestrian_failed_to_yield": "pedestrian",
    "cyclist_failed_to_yield": "cyclist",
    "yield_turning_left": "left_turn",
    "wrong_way": "head_on",
    "unsafe_lane_change": "sideswipe_same",
}


# A narrative that names alcohol itself, not only "intoxicated" or "DWI" (plan/realize.py, metrics/claims.py)
ALCOHOL_NAMED = compile_literal_first(r"\b(?:alcohol\w*|drinking|drank|drunk\w*|beers?|liquor|whiskey|vodka|wine|bac|breath\s+(?:test|sample)|breathalyzer)\b")

# Manners whose striking unit is at fault when no factor names anyone (plan/graph.py at_fault_unit).
STRIKER_AT_FAULT = frozenset({"rear_end", "backing", "fixed_object", "rollover", "sideswipe_same", "head_on", "angle",
                              "pedestrian", "cyclist"})  # a person struck: the driver, unless a factor names the person


# Cheap substring checks that must hold before a factor's regex is worth running (speed:
# most narratives mention only a few causes, and `in` is ~100x faster than a regex scan).
FACTOR_TRIGGERS: dict[str, tuple[str, ...]] = {
    "failed_to_control_speed": ("cont", "ctrl", "ftc", "f.t.c.s", "slow"),
    "unsafe_speed": ("speed", "spd", "fast", "racing"),
    "followed_too_closely": ("clos", "ftc", "following", "tailgat"),
    "disregarded_signal": ("red", "signal", "light", "disregard", "traffic"),
    "disregarded_stop_sign": ("stop",),
    "unsafe_lane_change": ("lane", "merg", "clwu", "cluw"),
    "failed_single_lane": ("lane", "ln", "veer", "fdsl", "ftdsl", "ftdisl", "f.t.d", "drift", "weav", "line", "stripe", "divider"),
    "improper_passing": ("pass",),
    "wrong_way": ("wrong", "against", "contra"),
    "turned_improperly": ("turn",),
    "driver_inattention": ("attent", "watching", "distract", "look", "glanc", "focus", "see", "notice", "observe", "saw", "realiz", "reach",
                           "unaware", "check"),
    "cell_phone": ("phone", "text", "mobile", "device"),
    "under_influence_alcohol": ("intox", "drinking", "impaired", "dwi", "dui", "alcohol", "drunk", "bac", "breath", "sobriety", "influence",
                                "beer", "liquor", "whiskey", "vodka"),
    "under_influence_drugs": ("duid", "drug", "narcotic", "marijuana", "cannabis", "thc", "cocaine", "meth", "opioid",
                              "fentanyl", "influence", "controlled"),
    "fatigued": ("sleep", "doz", "nodd", "fatigu", "drows", "tired"),
    "ill": ("seizure", "medical", "diabet", "ed out", "conscious", "heart", "stroke", "faint", " ill", "illness", "sick",
            "dizzy", "lightheaded", "hypoglyc"),
    "backed_without_safety": ("back", "revers"),
    "unsafe_start": ("start", "pull", "left"),
    "overcorrected": ("correct", "steer"),
    "faulty_evasive_action": ("evasive", "swerv", "jerk"),
    "defective_brakes": ("brake",),
    "yield": ("yield", "yeild", "yiled", "yeld", "yld", "fty", "grant", "give"),
    "pedestrian_acts": ("dart", "dash", "ran", "run", "step", "walk", "enter", "cross", "came", "jump", "emerg", "rode",
                        "riding", "swerv", "pull", "cut"),
}


def _compile_factors() -> dict[str, re.Pattern]:
    """One regex per factor (its phrasings in alternation), run only when a trigger is present.

    The leading `\\b` of each phrasing is dropped (plan/narrative.py rejects instead any match that
    starts inside a word) and every branch made to open with a literal (plan/literal_first.py), so
    the engine skips ahead to a possible first letter rather than trying every character.
    """
    def without_leading_boundary(patterns: tuple[str, ...]) -> str:
        alternatives = [alt for pattern in patterns for alt in top_level_alternatives(pattern)]
        return "|".join(alt.removeprefix("\\b") for alt in alternatives)

    compiled = {key: compile_literal_first(without_leading_boundary(patterns))
                for key, patterns in FACTOR_PATTERNS.items()}
    compiled["yield"] = compile_literal_first(_YIELD)
    compiled["pedestrian_acts"] = PEDESTRIAN_ACTS
    return compiled


FACTOR_RES = _compile_factors()
assert set(FACTOR_RES) == set(FACTOR_TRIGGERS), "every factor needs its triggers"


# Factors that say their unit was moving (a "parked" unit that started off is not a fixed object).
MOVING_FACTORS = frozenset({"unsafe_start", "backed_without_safety", "turned_improperly", "unsafe_lane_change"})
# Factors a pedestrian or cyclist can have as such; any other fault of theirs is a failure to yield.
NON_MOTORIST_OK = frozenset({"under_influence_alcohol", "under_influence_drugs", "cell_phone", "ill", "fatigued"})
# Factors whose mention can be denied ("no alcohol involved", "did not appear distracted").
NEGATABLE = frozenset({"under_influence_alcohol", "under_influence_drugs", "cell_phone", "fatigued", "ill",
                       "driver_inattention", "unsafe_speed", "defective_brakes", "wrong_way", "faulty_evasive_action"})
