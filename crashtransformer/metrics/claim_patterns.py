"""The vocabulary of the claim-support checker (metrics/claims.py): what a summary can assert,
and the cues in a narrative that support each assertion.

Every entry is (claim pattern, support pattern): the first finds the claim in a summary, the
second must match somewhere in the narrative (both run on plan.patterns.normalize'd text). Causes
the crash-graph extractor knows are checked through its own factor patterns (plan/patterns.py);
this file holds the rest. Support cues are deliberately broad: a claim is unsupported only when
its narrative gives no cue for it at all, the way a reader auditing a summary checks it.
"""

from __future__ import annotations

import re

# ----------------------------------------------------------------------------- speculation
# The words of a guess. Generation forbids them (infer/generation.py builds bad-word sequences
# from this tuple) and the checker flags any that remain.
HEDGE_WORDS: tuple[str, ...] = (
    "likely", "unlikely", "probable", "probably", "possibly", "perhaps", "presumably", "potentially", "apparently",
    "seemingly", "may", "might", "could have", "would have", "appears to", "appeared to", "seems", "seemed",
    "suggests", "suggesting", "suspected", "believed to",
)
HEDGE = re.compile(r"\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in HEDGE_WORDS) + r")\b")


def _cue(*words: str) -> re.Pattern:
    return re.compile("|".join(words))


# ----------------------------------------------------------------------------- causes
# Causes outside the graph's factor catalogue that references like to add, each with its support.
EXTRA_FACTORS: tuple[tuple[str, re.Pattern, re.Pattern], ...] = (
    # a loss of control is said, or shown by a spin, skid ("no skid marks" shows none), slide or rollover; leaving the
    # road or the lane is not one
    ("lost control", re.compile(r"\b(?:lo(?:st|ss\s+of|se|sing)|maintain(?:ing)?)\s+(?:(?:\w+\s+){0,2}?(?:vehicle\s+)?)control\b(?!\s+(?:of\s+)?(?:its\s+|their\s+|his\s+|her\s+)?speed)"
                                r"|\bcontrol(?:l?ed|l?ing|s)?\s+(?:of\s+)?(?:the\s+|its\s+|his\s+|her\s+|their\s+)?(?:vehicle|car|truck)\b"),  # "failed to control the vehicle"
     _cue(r"lo(?:st|ss\s+of|se|sing)\s+control", r"out\s+of\s+control", r"(?:unable|could\s*n[o']?t)\s+(?:to\s+)?(?:control|maintain\s+control)",
          # a vehicle rolling over, not "controlled intersection", "patrol" or "the concrete rolled into the lane"
          r"\bspun\b|\bspin", r"(?<!\bno\s)(?<!\bany\s)skid", r"\bslid", r"over\s*correct", r"fishtail", r"hydroplan",
          r"\broll(?:ed|ing|s)?\s+(?:over|onto|on\s+(?:to\s+)?its)|\brollover", r"overturn")),
    ("safe distance", re.compile(r"\b(?:safe|sufficient|adequate|proper)\s+(?:following\s+)?distance|\bfollow\w*\s+too\s+clos"),
     _cue(r"distance", r"too\s+clos", r"to\s+clos", r"tailgat", r"\bftc\b(?!\s*s)")),
    ("reckless or aggressive", re.compile(r"\breckless\w*|\baggressiv\w*|\berratic\w*|\bimpatien\w*|\brac(?:e|ing)\b"),
     _cue(r"reckless", r"aggressiv", r"erratic", r"impatien", r"racing", r"road\s+rage", r"evad", r"flee|fled|pursuit")),
    ("inattention", re.compile(r"\battention\b|\bawareness\b|\bnot\s+(?:properly\s+)?(?:observ|recogni|notic)\w*"
                               r"|\bfail\w*\s+to\s+(?:notice|observe|recogni[sz]e|see)\b|\b(?:did\s*n[o']?t|not)\s+see(?:ing)?\b"),
     _cue(r"attent", r"distract", r"did\s*n[o']?t\s+(?:see|notice|observe)", r"never\s+saw", r"fail\w*\s+to\s+(?:see|notice|observe)",
          # a phone in use, not "their phones fell into the floorboard" in the crash
          r"look", r"(?:on|using|used|use\s+of|holding|checking|texting|talking\s+on|dialing|answering)\s+(?:\w+\s+){0,2}?(?:cell\w*\s*)?phone",
          r"\btext\w*", r"aware")),
    ("excessive speed", re.compile(r"\b(?:excessive|high|unsafe|too\s+much)\s+velocity|\bexceed\w*\s+(?:an?\s+|the\s+)?(?:appropriate|safe|reasonable)\s+speed"),
     _cue(r"speeding", r"too\s+fast", r"high\s+(?:rate\s+of\s+)?speed", r"excessive", r"unsafe\s+speed", r"\bmph\b", r"racing", r"exceed")),
    ("oncoming traffic", re.compile(r"\boncoming\b|\bon-coming\b"),
     _cue(r"oncoming", r"on[\s-]coming", r"opposite", r"head[\s-]*on", r"facing", r"wrong\s+way")),
    # a check the driver skipped (before the mirrors below, whose "checking for traffic" a "without" would deny), or an
    # error of judgment: an explanation LLM references add where police state only
    # the failure ("without ensuring it was safe" and "did not properly assess" mostly restate a stated failure: left)
    ("judgment", re.compile(r"\bwithout\s+(?:first\s+)?(?:properly\s+|adequately\s+)?checking\b|\bfailure\s+to\s+(?:properly\s+)?check\b"
                            r"|\berror\s+(?:in|of)\s+judg\w*|\b(?:incorrect|mistaken|false|wrong)\s+assum\w*"),
     _cue(r"(?:did|could|was)\s*n[o']?t\s+see", r"never\s+saw", r"fail\w*\s+to\s+see", r"\bcheck", r"\blook", r"judg", r"assum",
          r"\bthought\b", r"believ")),
    ("blind spot or mirrors", re.compile(r"\bblind\s*spot|\bmirrors?\b|\bcheck(?:ed|ing)?\s+(?:for\s+)?(?:traffic|clearance)"),
     _cue(r"blind", r"mirror", r"check", r"clear", r"did\s*n[o']?t\s+see", r"never\s+saw", r"fail\w*\s+to\s+see")),
    # "failed to stop in time" is a fault: the officer's failure, a stated cause a failed stop follows from, or a
    # driver's admission; "unable to stop in time" is not one (docs/labelling-guide.md) and supports none
    ("failed to stop", re.compile(r"\bfail\w*\s+to\s+(?:stop|brake|slow)"),
     _cue(r"fail\w*\s+to\s+(?:stop|brake|slow|apply|control|maintain|keep|yield)", r"did\s*n[o']?t\s+(?:stop|brake|slow)", r"\bftcs\b",
          r"\bftc\b", r"too\s+(?:clos|fast|quick)", r"to\s+clos", r"unsafe\s+speed|speeding|high\s+rate\s+of\s+speed",
          r"disregard", r"(?:ran|run)\s+(?:the\s+|a\s+)?(?:red|stop)", r"without\s+(?:stopping|braking)",
          r"brakes?\s+(?:fail|went\s+out|gave\s+out|did\s*n[o']?t)", r"distract|inattent|not\s+paying",
          r"(?:look\w*|glanc\w*)\s+(?:down|away)", r"\b(?:cell\s*)?phone\b(?!\s+pole)")),  # not "a telephone pole"
    ("unable to stop", re.compile(r"\b(?:unable|could\s*n[o']?t)\s+(?:to\s+)?(?:stop|brake|slow)"),
     _cue(r"stop", r"brak", r"slow", r"control", r"ftcs")),
    ("failed to maintain lane", re.compile(r"\bfail\w*\s+to\s+(?:maintain|keep|stay\s+in)\s+(?:\w+\s+){0,2}lane"),
     _cue(r"lane", r"drift", r"veer", r"fdsl", r"ftdsl", r"cross\w*\s+(?:the\s+|over\s+)*(?:center|line|stripe)")),
    # how fast a driver reacted or how it scanned: LLM references explain a crash with these, police rarely write them
    # (judging, assessing, caution and adjusting speed mostly restate a stated failure, and are left to it)
    ("reaction or scanning", re.compile(r"\b(?:reaction\s+time|react(?:ed|ing)?\s+(?:in\s+time|quickly|too\s+late)|respon(?:d|se)\w*\s+time"
                                        r"|braking\s+(?:or\s+\w+\s+)?response|delay(?:ed)?\s+in\s+(?:applying|braking|reacting|responding)"
                                        r"|scan(?:ned|ning|s)?\b|misjudg\w*|perceiv\w*|perception|procedures?\b)"),
     _cue(r"react", r"respon(?:se|d\w*)\s+time", r"delay", r"scan", r"judg", r"perceiv", r"percept", r"procedur")),
    ("failed to signal", re.compile(r"\bwithout\s+signal\w*|\bfail\w*\s+to\s+signal|\bturn\s+signal|\bblinker"),
     _cue(r"signal", r"blinker", r"indicator")),
    ("traction", re.compile(r"\btraction\b"),
     _cue(r"traction", r"skid", r"\bslid", r"hydroplan", r"\bwet\b", r"\bic(?:e|y)\b", r"rain", r"gravel", r"\bspun\b|\bspin",
          r"lo(?:st|ss\s+of|se|sing)\s+control", r"slick", r"sand", r"\bmud")),
    # a part that failed: the narrative must say that one did ("the right tire made contact with the curb" is no failure)
    ("a malfunction", re.compile(r"\bmalfunction\w*|\bmiscalibrat\w*|\bmechanical\s+(?:failure|issues?|problems?|defects?)"
                                 r"|\bmaintenance\b|\bwear\b|\bdefect\w*|\b(?:tires?|brakes?|steering|axle|hitch|wheel)\s+(?:had\s+)?fail(?:ed|ure)\b(?!\s+to)"),
     _cue(r"malfunction", r"defect", r"mechanic", r"broke", r"\bblew\b", r"blow\s*out", r"\bflat\b", r"went\s+out", r"gave\s+out",
          r"brakes?\s+(?:fail|went|gave|did\s*n[o']?t|stopped)", r"tire\w*\s+(?:\w+\s+)?(?:fail|burst|deflat|separat|came\s+(?:apart|off))",
          r"lost\s+power|power\s+steering\s+(?:fail|went|lost)", r"steering\s+(?:fail|lock|went)", r"calibrat", r"maintenance",
          r"\bworn\b|\bwear\b", r"unravel", r"fail(?:ed|ure)\s+(?:of\s+)?(?:the\s+)?(?:brake|tire|steer|axle|hitch|wheel)"))
)
# "distraction" needs a distraction (docs/claim-labelling-guide.md); "inattentive" or "did not see" is none
DISTRACTION = _cue(r"distract", r"phone", r"\btext", r"radio", r"\bgps\b", r"navigat", r"(?:look|glanc)\w*\s+(?:down|away|over|back|at|to)",
                   r"reach", r"passenger", r"child", r"\bkids?\b", r"\bdogs?\b", r"\beat", r"drink", r"food", r"cigar", r"music",
                   r"screen", r"\bmap\b", r"visor", r"watch", r"dropp", r"\bbee\b|insect|wasp", r"spill", r"turned\s+around")
# A failure to yield is read into a unit entering another's path: turning, pulling out, merging, changing lanes,
# entering from a drive, a lot or a stop sign (labellers accept it there). Units that both entered or crossed an
# intersection ("V1 and V2 entered the intersection at the same time"), a unit that "entered the roadway" again after
# leaving it, and a deer that "entered the road" give no one a right of way to yield.
YIELD_SCENE = re.compile(r"in\s+front\s+of|into\s+(?:the\s+)?(?:path|lane)|pull\w*\s+(?:out|into|onto|from)|turn\w*\s+(?:in|left|right)"
                         r"|(?<!quarter\s)(?<!half\s)turn\w*\s+(?:\S+\s+){0,5}?(?:into|onto)|right\s+of\s+way|\byield|\bfty|stop\s*sign|merg\w*|\bwaved"
                         r"|(?:chang|switch)\w*\s+lanes?|lane\s+change|from\s+lane\s+\S+\s+to\s+lane|\bcut\s+(?:in|off|over|across)"
                         r"|(?:exit|leav|enter|cross)\w*\s+(?:from\s+)?(?:a|the|an)\s+(?:\w+\s+)?(?:private|parking|drive\s*way|business|lot|alley|gas|store|median)"
                         r"|from\s+(?:a|the)\s+(?:\w+\s+)?(?:private\s+(?:drive|road|property)|drive\s*way|parking\s+lot|stop|alley)")
SIGNAL_SCENE = re.compile(r"(?:obey|disregard|ran|run|through|against)\w*\s+(?:\w+\s+){0,4}?(?:signal|light)")
# "a safe speed for the conditions" restates a failure to control speed; the speed family checks it.
SAFE_SPEED = re.compile(r"\b(?:maintain|keep|control|regulat)\w*\s+(?:a\s+|its\s+|his\s+|her\s+|their\s+)?"
                        r"(?:safe\s+)?speed|\bsafe\s+speed")
SPEED_SUPPORT = _cue(r"speed", r"spd", r"ftcs", r"too\s+fast", r"unable\s+to\s+stop", r"could\s*n[o']?t\s+stop",
                     r"fail\w*\s+to\s+stop", r"mph", r"\bfast\b")

# ----------------------------------------------------------------------------- manners
MANNER_CLAIMS: tuple[tuple[str, re.Pattern, re.Pattern], ...] = (
    ("rear-end", re.compile(r"\brear[\s-]*end\w*|\b(?:rear|back)\s+(?:of|end|bumper)\b|\bfrom\s+behind|\brear\b"),
     _cue(r"rear", r"\bbd\b", r"\bb\s*d\b", r"back\s+(?:of|end|bumper|side)", r"behind", r"bumper", r"\bb\.d", r"fd\s*-?\s*bd",
          r"\bbk\b", r"\bstopped\b", r"\btrunk\b", r"\btailgate")),
    ("head-on", re.compile(r"\bhead[\s-]*on\b|\bfront[\s-]+to[\s-]+front"),
     _cue(r"head[\s-]*on", r"front\s+to\s+front", r"fd\s*-?\s*fd", r"oncoming", r"wrong\s+way", r"opposite\s+direction",
          r"on\s*coming")),
    ("sideswipe", re.compile(r"\bside[\s-]*swip\w*"),
     _cue(r"side[\s-]*swip", r"\bside\b", r"\b[lr][fbdps]\b", r"lane", r"merg", r"passenger", r"driver'?s?\s+side", r"mirror")),
    ("angle", re.compile(r"\bt[\s-]*bone\w*|\bbroadside\w*|\bangle\b|\bperpendicular"),
     _cue(r"t[\s-]*bone", r"broadside", r"angle", r"intersect", r"\bintx?\b", r"cross", r"turn", r"pull\w*\s+out", r"side",
          r"\b[lr][fbdps]\b", r"\bstop\s+sign", r"signal", r"light")),
    ("rollover", re.compile(r"\broll(?:ed|ing|s)?\s*over|\boverturn\w*|\bflip\w*|\brolled\b"),
     _cue(r"roll", r"overturn", r"flip", r"on\s+its\s+(?:side|roof|top)", r"upside")),
    ("pedestrian", re.compile(r"\bpedestrians?\b|\bperson\s+(?:walking|on\s+foot)"),
     _cue(r"pedestri", r"pedestrain", r"\bpeds?\b", r"walk", r"on\s+foot", r"crosswalk", r"jog")),
    ("cyclist", re.compile(r"\b(?:bi)?cyclists?\b|\bbicycl\w*|\bbikes?\b"),
     _cue(r"cycl", r"bike", r"bicyl")),
    ("parked vehicle", re.compile(r"\bparked\b"), _cue(r"park", r"unoccupied", r"unattended")),
)
ANIMAL = re.compile(r"\b(?:deer|dogs?|cows?|cattle|horses?|animals?|livestock|hogs?|pigs?|armadillos?|coyotes?|goats?|"
                    r"sheep|bulls?|calf|calves|donkeys?|cats?|birds?|elk|moose|raccoons?)\b")
ANY_ANIMAL = _cue(ANIMAL.pattern, r"\bbovine", r"\bequine", r"\bcanine")
# "a collision with a fixed object": supported only by an object the graph read as struck (plan/narrative.py)
FIXED_OBJECT_CLAIM = re.compile(r"\bfixed\s+objects?\b")
# Objects a summary may say were struck; each needs its own word (or a synonym) in the narrative.
OBJECTS: tuple[tuple[str, str], ...] = (
    (r"\bpoles?\b", r"pole|light\s+standard|\bpost"), (r"\btrees?\b", r"tree"), (r"\bfences?\b", r"fence"),
    (r"\bguard\s*rails?\b|\brailings?\b", r"guard\s*rail|rail|barrier|cable"), (r"\bcurbs?\b", r"curb|median|island"),
    (r"\bmedians?\b", r"median|curb|island|barrier"), (r"\bbarriers?\b|\bbarricades?\b", r"barrier|barricade|wall|rail|median|cable"),
    (r"\bwalls?\b", r"wall|barrier"), (r"\bbuildings?\b|\bhouses?\b|\bresidences?\b|\bstructures?\b", r"building|house|residence|structure|business|store|home|garage"),
    (r"\bditch(?:es)?\b|\bcanal\b|\bculverts?\b", r"ditch|canal|culvert|creek|water"), (r"\bmail\s*box(?:es)?\b", r"mail\s*box"),
    (r"\bhydrants?\b", r"hydrant"), (r"\bsigns?\b(?!\s*(?:of|that))", r"sign"), (r"\bbridge\b", r"bridge|overpass"),
)

# ----------------------------------------------------------------------------- turns, control
def _turn_lane_and_turn(side: str) -> str:
    """A unit in the left-turn lane that the narrative says turned: a left turn ("stopped in the left turn lane
    ... while turning south onto lake rd"); the lane alone is none ("changed lanes into the left turn lane")."""
    lane = rf"\b{side}[\s-]+(?:hand\s+)?turn[\s-]+lanes?\b"
    return rf"{lane}(?=[\s\S]*\bturn(?:ed|ing)\b)|\bturn(?:ed|ing)\b[\s\S]*{lane}"


TURN_CLAIMS: tuple[tuple[str, re.Pattern, re.Pattern], ...] = (
    ("left turn", re.compile(r"\bleft[\s-]+(?:hand\s+)?turn\w*(?!\s+lane)|\bturn\w*\s+(?:to\s+the\s+)?left\b"),
     _cue(r"turn\w*\s+(?:\w+\s+){0,4}?(?:left|lt)\b", r"\b(?:left|lt)[\s-]+(?:hand\s+)?turn(?!\s+lane)", r"\bleft\s+(?:onto|into|on\s+to)",
          _turn_lane_and_turn("left"), r"\blt\b", r"\bl/t\b", r"make\s+a\s+left", r"making\s+a\s+left", r"made\s+a\s+left")),
    ("right turn", re.compile(r"\bright[\s-]+(?:hand\s+)?turn\w*(?!\s+lane)|\bturn\w*\s+(?:to\s+the\s+)?right\b"),
     _cue(r"turn\w*\s+(?:\w+\s+){0,4}?(?:right|rt)\b", r"\b(?:right|rt)[\s-]+(?:hand\s+)?turn(?!\s+lane)", r"\bright\s+(?:onto|into|on\s+to)",
          _turn_lane_and_turn("right"), r"\brt\b", r"\br/t\b", r"make\s+a\s+right", r"making\s+a\s+right", r"made\s+a\s+right")),
    ("u-turn", re.compile(r"\bu[\s-]?turn\w*|\bturn\w*\s+around"), _cue(r"\bu[\s-]?turn", r"turn\w*\s+around")),
    ("turning", re.compile(r"\bturn(?:ed|ing|s)?\b|\bturn\b(?!\s+(?:signal|lane))"), _cue(r"turn", r"\b[lr]t\b", r"\b[lr]/t\b")),
)
CONTROL_CLAIMS: tuple[tuple[str, re.Pattern, re.Pattern], ...] = (
    ("red light", re.compile(r"\bred\s+(?:light|signal)|\bred\b"), _cue(r"\bred\b", r"disregard\w*\s+(?:the\s+)?(?:traffic\s+)?(?:signal|light)")),
    ("green light", re.compile(r"\bgreen\b"), _cue(r"green")),
    ("yellow light", re.compile(r"\byellow\b|\bamber\b"), _cue(r"yellow", r"amber")),
    # a traffic control device is any sign or signal
    ("traffic control device", re.compile(r"\btraffic\s+control\s+devices?"),
     _cue(r"signal", r"light", r"\bsigns?\b", r"stop[\s-]*sign", r"yield", r"traffic\s+control", r"\bred\b", r"green", r"flash", r"way\s+stop",
          r"\bonly\b", r"arrow", r"marking", r"stripe")),  # a lane-use marking ("a left turn only lane") is one too
    ("traffic signal", re.compile(r"\btraffic\s+(?:signal|light|control\s+signal)s?|\bsignal(?:ized)?\s+(?:light|intersection|indication)|\bstop\s*light"),
     _cue(r"signal", r"traffic\s+light", r"(?:red|green|yellow|stop)\s*light", r"\bred\b", r"green", r"yellow", r"amber", r"traffic\s+control",
          r"light\s+(?:was|turned|changed|cycled)")),
    ("stop sign", re.compile(r"\bstop\s*signs?\b"), _cue(r"stop[\s-]*sign", r"way\s+stop", r"\bstop\s+(?:line|bar)")),
    ("yield sign", re.compile(r"\byield\s+signs?\b"), _cue(r"yield\s+sign")),
    ("flashing signal", re.compile(r"\bflashing\b"), _cue(r"flash")),
)

# ----------------------------------------------------------------------------- circumstances
CONDITION_CLAIMS: tuple[tuple[str, re.Pattern, re.Pattern], ...] = (
    ("wet road or rain", re.compile(r"\bwet\b|\brain\w*|\bslick\b|\bhydroplan\w*|\bstorm\w*"),
     _cue(r"wet", r"rain", r"slick", r"water", r"hydroplan", r"puddl", r"storm", r"mist", r"drizzl")),
    ("ice or snow", re.compile(r"\bic(?:e|y)\b|\bsnow\w*|\bsleet\b|\bfreez\w*|\bfrost\w*"),
     _cue(r"\bic(?:e|y|ed)\b", r"snow", r"sleet", r"freez", r"frost", r"slick")),
    ("fog", re.compile(r"\bfog\w*"), _cue(r"fog", r"mist", r"haz")),
    ("darkness", re.compile(r"\bdark\w*|\bnight\w*|\bunlit\b|\bpoorly\s+lit|\blow\s+light|\blighting\b"),
     _cue(r"dark", r"night", r"unlit", r"\blit\b", r"lighting", r"street\s*light", r"headlight", r"\bpm\b", r"\b(?:2[0-3]|0[0-5])[0-5]\d\s*(?:hrs|hours)")),
    ("glare", re.compile(r"\bglare\b|\bsun\w*"), _cue(r"glare", r"\bsun")),
    # "blocked the view" supports it; "the 2400 block" and "during the interview" do not
    ("visibility", re.compile(r"\bvisib\w*|\bobstruct\w*|\bview\b"),
     _cue(r"visib", r"obstruct", r"\bblock(?:ed|ing)\b", r"blind", r"\bview", r"could\s*n[o']?t\s+see", r"unable\s+to\s+see", r"did\s*n[o']?t\s+see",
          r"fog", r"dark", r"glare", r"\bsun")),
    ("curve", re.compile(r"\bcurv\w*|\bbend\b"), _cue(r"curv", r"bend")),
    ("construction", re.compile(r"\bconstruction\b|\bwork\s+zone|\bcones?\b"), _cue(r"construction", r"work\s+zone", r"cone", r"barrel", r"crew")),
    ("hill", re.compile(r"\bhill\w*|\bcrest\b|\bincline\b|\bgrade\b"), _cue(r"hill", r"crest", r"incline", r"grade", r"slope")),
    ("road surface", re.compile(r"\bgravel\b|\bdebris\b|\bpot\s*holes?\b|\bloose\b|\b(?:poor|hazardous|slippery|adverse|inclement)\s+(?:road|roadway|weather|driving)?\s*conditions"
                                r"|\bweather\b"),
     _cue(r"gravel", r"debris", r"pot\s*hole", r"loose", r"wet", r"rain", r"\bic(?:e|y)", r"snow", r"slick", r"weather", r"fog", r"water",
          r"oil", r"sand", r"mud")),
    ("traffic", re.compile(r"\b(?:heavy|slow\w*|stopped|congested|dense)\s+traffic|\bcongestion|\btraffic\s+(?:ahead|jam|backup)"),
     _cue(r"traffic", r"congest", r"backed\s+up", r"stopped", r"slow")),
    ("busy traffic", re.compile(r"\bbusy\b"),
     _cue(r"busy", r"heavy", r"congest", r"backed\s+up", r"rush\s+hour", r"bumper\s+to\s+bumper", r"stop\s+and\s+go", r"dense")),
    ("intersection", re.compile(r"\bintersection\b"),
     _cue(r"intersect", r"\bintx?\b", r"\binters\b", r"corner", r"crossroad", r"\bstop\s*sign", r"signal", r"light", r"\bat\s+(?:the\s+)?(?:\w+\s+){1,4}?(?:and|&)\b",
          r"cross\s*street", r"turn")),
    ("a parking lot or private drive", re.compile(r"\bparking\s+(?:lot|area|garage|space|spot)|\bdriveway\b|\bprivate\s+(?:drive|property|road|lot)"),
     _cue(r"park", r"drive\s*way", r"private", r"\blot\b", r"(?<!\bto\s)\bdrive\b(?!\s+(?:to|on|in|at|into|off|away|through|forward|back))",
          r"business", r"store", r"\bpvt\b")),  # "drive" as a place, not "to drive" or "drive forward"; "driver" never
)
INJURY = re.compile(r"\binjur\w*|\bhurt\b|\bfatal\w*|\bkilled\b|\bdied\b|\bdeaths?\b|\bdeceased\b|\bhospital\w*|\btransported\b"
                    r"|\bambulance\b|\bems\b|\bmedical\s+(?:attention|treatment|care)")
INJURY_SUPPORT = _cue(r"injur", r"hurt", r"pain", r"fatal", r"killed", r"died", r"death", r"deceased", r"hospital", r"transport",
                      r"ambulance", r"\bems\b", r"\bmedic", r"bleed", r"\bdoa\b", r"\bk\b", r"\bsuspected\s+(?:serious|minor)",
                      r"complain", r"treated", r"\bdead\b", r"life\s*flight", r"air\s*lift", r"ame\b")
IMPAIRMENT_WORD = re.compile(r"\bimpair\w*")
IMPAIRMENT_SUPPORT = _cue(r"impair", r"intox", r"alcohol", r"drunk", r"dwi", r"dui", r"drug", r"influence", r"beer", r"marijuana",
                          r"sobriety", r"\bbac\b", r"breath")

# ----------------------------------------------------------------------------- units, blame, places
UNIT_STATES: tuple[tuple[str, re.Pattern, re.Pattern], ...] = (
    ("stopped", re.compile(r"\b(?:was|were|had|being)\s+(?:\w+\s+)?(?:stopped|stationary|at\s+a\s+stop)|\bstopped\s+(?:at|for|in)\b"
                           r"|\b(?:the|a|an)\s+(?:stationary|stopped)\s+(?:vehicle|car|truck|unit)\b"),
     _cue(r"stop", r"stationary", r"wait", r"standing", r"halt", r"parked", r"slow")),
    ("parked", re.compile(r"\b(?:was|were)\s+(?:legally\s+)?parked\b"), _cue(r"park", r"unoccupied", r"unattended")),
    ("backing", re.compile(r"\bback(?:ed|ing)\b(?!\s+(?:of|end|bumper|side))|\brevers\w*"), _cue(r"\bback(?:ed|ing|s)?\b", r"revers")),
    ("changing lanes", re.compile(r"\bchang\w*\s+lanes?|\blane\s+change|\bmerg\w*"),
     _cue(r"lane", r"merg", r"clwu", r"cluw", r"into\s+the\s+path")),
    # a stop or a slowing called sudden or unexpected: the narrative must say so, in some words
    ("sudden or unexpected", re.compile(r"\b(?:sudden|unexpected|abrupt)\s+(?:\w+\s+){0,2}?(?:stop|slow|brak|decrease|reduction|deceler"
                                        r"|application|swerv|lane\s+change|turn|maneuver|movement)\w*"
                                        r"|\b(?:sudden|unexpected|abrupt)ly\s+(?:\w+\s+)?(?:stop|slow|brak|swerv|turn|chang|mov|deceler)\w*"),
     _cue(r"sudden", r"unexpect", r"abrupt", r"without\s+warning", r"slam", r"out\s+of\s+nowhere", r"last\s+(?:second|minute)",
          r"cut\s+(?:off|in|over)", r"\bdart", r"hard\s+brak|brak\w*\s+hard", r"brake[\s-]*check", r"emergency", r"quick", r"immediate")),
)
# Verbs that make their subject the striker ("struck", "..., striking Unit 2"); "collided with" and "a collision
# with" do not. One list for both claim shapes below.
_STRIKER_VERBS = r"struck|strikes?|striking|hit|hits|hitting|rear[\s-]*ended|rear[\s-]*ending|crash\w*\s+into|ran\s+into"
_STRUCK_PART = r"(?:the\s+)?(?:rear\s+of\s+|back\s+of\s+|side\s+of\s+)?"
_UNIT_AHEAD = r"(?=unit|veh|[uv]\s?-?#?\d)"  # "Unit 2", "vehicle 2", "V2": what plan.patterns.UNIT reads next
# "..., striking Unit 2", "a collision with Unit 2", "failed to yield to Unit 2": the other party a summary names
STRUCK_UNIT = re.compile(rf"\b(?:{_STRIKER_VERBS}|collid\w*\s+(?:with|into)|collision\s+with|yield\w*\s+(?:the\s+)?(?:right[\s-]+of[\s-]+way\s+)?to)"
                         rf"\s+{_STRUCK_PART}{_UNIT_AHEAD}")
# The narrative says a unit was not struck: "unit 1 avoided contact with unit 2", "did not make contact"
CONTACT_AVOIDED = re.compile(r"\bavoid\w*\s+(?:making\s+)?(?:contact|a\s+collision|colliding|striking|hitting)\b")
STRIKER_VERB = re.compile(rf"\b(?:{_STRIKER_VERBS}|collid\w*\s+into)\s+{_STRUCK_PART}{_UNIT_AHEAD}")  # its subject struck
# "Unit 1 ..., resulting in a rear-end collision with Unit 2": its subject struck the other's rear; wrong where the
# narrative has the other unit striking the subject. ("Colliding with Unit 2" is left: readers accept it of the unit
# that failed to yield and was struck.)
MET_VERB = re.compile(rf"\brear[\s-]*end\s+collision\s+with\s+{_STRUCK_PART}{_UNIT_AHEAD}")
# "... on the part of the driver of Unit 2": whom a summary pins its cause on
ON_THE_PART_OF = re.compile(r"\bon\s+the\s+part\s+of\s+(?:the\s+)?(?:driver\s+of\s+|operator\s+of\s+)?" + _UNIT_AHEAD)
FAULT_CLAIM = re.compile(r"\bat[\s-]+fault\b|\bresponsib\w*|\bto\s+blame\b|\bcaused\s+(?:the|this)\s+(?:crash|collision|accident)")
DIRECTIONS = {
    "north": _cue(r"north", r"\bn\s*/?\s*b\b", r"\bn\.?b\.?\b", r"\bn\b"), "south": _cue(r"south", r"\bs\s*/?\s*b\b", r"\bs\b"),
    "east": _cue(r"east", r"\be\s*/?\s*b\b", r"\be\b"), "west": _cue(r"west", r"\bw\s*/?\s*b\b", r"\bw\b"),
}
# "in the outside lane": the narrative must name that lane ("outside lane", "#2 lane", "inside ln").
LANE_CLAIM = re.compile(r"(?<![\w#])(inside|outside|left|right|center|middle|fast|slow|#\s*\d|number\s+\d|first|second|third)"
                        r"(?:[\s-]+most)?\s+(?:travel\s+|traffic\s+)?lanes?\b")
# "in the adjacent lane": the narrative must put the units in lanes side by side, not on crossing streets
ADJACENT_LANE = re.compile(r"\b(?:adjacent|neighbou?ring|next)\s+(?:travel\s+)?lanes?\b")
ADJACENT_SUPPORT = _cue(r"adjacent", r"next\s+to", r"beside", r"alongside", r"next\s+lane", r"other\s+lane", r"side\s+by\s+side",
                        r"(?:chang|switch)\w*\s+lanes?|lane\s+change", r"merg", r"drift", r"\b(?:left|right|center|middle|inside|outside)\s+lane",
                        r"\blane\s*#?\s*(?:\d|one|two|three|four)\b|#\s*\d\s+lane", r"\bramp\b")
DIRECTION_CLAIM = re.compile(r"\b(north|south|east|west)(?:bound|ward)?\b")
