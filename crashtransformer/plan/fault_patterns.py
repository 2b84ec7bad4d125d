"""What officers write about fault: that it was left open (conflicting statements, "unable to
determine", misspelt as typed) or whose it was ("unit 1 was at fault").
The crash graph (plan/collisions.py, plan/narrative.py), the graph's summaries (plan/realize.py)
and the claim checker (metrics/claims.py) read fault through these, so they agree on it."""

from __future__ import annotations

import re

from crashtransformer.plan.literal_first import compile_literal_first

# The officer writes that fault was not established: a summary that blames anyone then says more,
# and the graph names no unit at fault (plan/collisions.py); "no witnesses" alone leaves the graph's reading.
_NOT_DETERMINED = (r"(?:(?:unable|could\s*n[o']?t|can\s*n[o']?t|cannot|not\s+able)\s+(?:to\s+)?(?:be\s+)?(?:determin|dertemin|detemin|detremin|deternin)\w*|\bunde(?:r)?t[ae]?r?m[aei]n\w*"  # typed as written
                   r"|\bnot\s+(?:be\s+)?(?:determined|established)\b)")
_FAULT_WORD = r"(?:\bfault|\bwho\b|\bwhich\b|\bcaus\w*|\bresponsib\w*|\bblame)"  # not "an undetermined speed"
_FAULT_LEFT_OPEN = (
    _FAULT_WORD + r"[^.;]{0,60}?" + _NOT_DETERMINED + "|" + _NOT_DETERMINED + r"[^.;]{0,40}?" + _FAULT_WORD
    + r"|(?<!his\s)(?<!her\s)\bconflicting\s+(?:statements?|stories|accounts|information|versions)|\bstatements?\s+(?:were|are)\s+conflicting"
    r"|\bdiffering\s+(?:statements?|stories|accounts)|\bboth\s+(?:drivers|parties|units|operators)\s+"
    r"(?:stated|claimed|advised|said)\s+(?:\w+\s+){0,6}?(?:green|right\s+of\s+way)|\bfault\s+(?:could|can|was)\s+not\b"
    r"|\b(?:unknown|unclear)\s+(?:which|who)\b|\bat[\s-]*fault\s+(?:unit|party|driver|vehicle)\s+(?:is\s+|was\s+)?(?:not\s+known|unknown)")
FAULT_LEFT_OPEN = compile_literal_first(_FAULT_LEFT_OPEN)
FAULT_UNDETERMINED = compile_literal_first(_FAULT_LEFT_OPEN + r"|\bno\s+(?:independent\s+)?witness\w*")

# The officer names the unit at fault ("unit 1 was at fault", "unit 2 found at fault", "the driver of
# unit 1 admitted she was at fault"); plan/narrative.py stated_fault finds whose.
FAULT_STATED = compile_literal_first(r"\bat[\s-]?fault\b|\bcaused\s+(?:the\s+|this\s+)?(?:collision|crash|accident)\b")
# "the crash was caused by unit 2", "this collision was caused by the driver of unit 1": the unit follows
FAULT_CAUSED_BY = re.compile(r"\b(?:collision|crash|accident)\s+(?:was\s+)?caused\s+by\s+(?:the\s+(?:driver|operator)\s+(?:of\s+)?)?")
# "both drivers said they were at fault", "not at fault", "who was at fault": no one named
FAULT_NOT_NAMED = re.compile(r"\b(?:both|neither|either|who|which|whom|whether|if|not|no|they|nobody|none)\b[^.;]{0,30}$")
