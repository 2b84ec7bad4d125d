"""What officers write about fault: that it was left open (conflicting statements, "unable to
determine", two drivers each claiming the green light) or whose it was ("unit 1 was at fault").
The crash graph (plan/collisions.py, plan/narrative.py), the graph's summaries (plan/realize.py)
and the claim checker (metrics/claims.py) read fault through these, so they agree on it."""

from __future__ import annotations

import re
import sys

from crashtransformer.plan.literal_first import compile_literal_first

# The officer writes that fault was not established: a summary that blames anyone then says more,
# and the graph names no unit at fault (plan/collisions.py); "no witnesses" alone leaves the graph's reading.
_NOT_DETERMINED = (r"(?:(?:unable|could\s*n[o']?t|can\s*n[o']?t|cannot|not\s+able)\s+(?:to\s+)?(?:be\s+)?(?:determin|dertemin|detemin|detremin|deternin)\w*|\bunde(?:r)?t[ae]?r?m[aei]n\w*"  # typed as written
                   r"|\bnot\s+(?:be\s+)?(?:determined|established)\b)")
_FAULT_WORD = r"(?:\bfault|\bwho\b|\bwhich\b|\bcaus\w*|\bresponsib\w*|\bblame)"  # not "an undetermined speed"


def _green_claimed(unit: str) -> str:
    """"unit 1 said he had a green light": one unit's own claim to the light."""
    return (rf"\bunit\s*#?\s*{unit}\b[^.;]{{0,40}}?\b(?:said|stated|advised|claimed|reported|told)\s+(?:\w+\s+){{0,4}}?"
            r"(?:had|has|was\s+on|with)\s+(?:a\s+|the\s+)?(?:solid\s+)?green\b")


_FAULT_LEFT_OPEN = (
    _FAULT_WORD + r"[^.;]{0,60}?" + _NOT_DETERMINED + "|" + _NOT_DETERMINED + r"[^.;]{0,40}?" + _FAULT_WORD
    + r"|(?<!his\s)(?<!her\s)\bconflicting\s+(?:statements?|stories|accounts|information|versions)|\bstatements?\s+(?:were|are)\s+conflicting"
    r"|\bdiffering\s+(?:statements?|stories|accounts)|\bboth\s+(?:drivers|parties|units|operators)\s+"
    r"(?:stated|claimed|advised|said)\s+(?:\w+\s+){0,6}?(?:green|right\s+of\s+way)|\bfault\s+(?:could|can|was)\s+not\b"
    r"|\b(?:unknown|unclear)\s+(?:which|who)\b")
# two drivers each saying the light was green for them: the officer left it there
_BOTH_GREEN = re.compile(_green_claimed(r"(?P<first>[1-9])") + r"[^\0]{0,400}?" + _green_claimed(r"(?!(?P=first)\b)[1-9]"))


class _FaultLeftOpen:
    """Searched like a compiled pattern: the officer's words, else two units' claims to a green light
    (a back-reference, ten times slower, so tried only where "green" comes twice)."""

    def __init__(self, pattern: str):
        self.pattern = compile_literal_first(pattern)

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match | None:
        found = self.pattern.search(text, pos, endpos)
        if found is None and text.count("green", pos, endpos) >= 2:
            found = _BOTH_GREEN.search(text, pos, endpos)
        return found


FAULT_LEFT_OPEN = _FaultLeftOpen(_FAULT_LEFT_OPEN)
FAULT_UNDETERMINED = _FaultLeftOpen(_FAULT_LEFT_OPEN + r"|\bno\s+(?:independent\s+)?witness\w*")

# The officer names the unit at fault ("unit 1 was at fault", "unit 2 found at fault", "the driver of
# unit 1 admitted she was at fault"); plan/narrative.py stated_fault finds whose.
FAULT_STATED = compile_literal_first(r"\bat[\s-]?fault\b|\bcaused\s+(?:the\s+|this\s+)?(?:collision|crash|accident)\b")
# "both drivers said they were at fault", "not at fault", "who was at fault": no one named
FAULT_NOT_NAMED = re.compile(r"\b(?:both|neither|either|who|which|whom|whether|if|not|no|they|nobody|none)\b[^.;]{0,30}$")
