"""Words a summary uses that its narrative never does: the free-form claims no cue list covers.

The LLM that wrote our training references, and the model trained on them, add judgments in their
own words: "failed to properly assess the situation", "a failure to comply with traffic laws and
regulations", "the vehicle's inability to maintain traction", "failed to use its safety features".
None of these words is in the narrative. A reader auditing the summary flags them; the cue lists
of metrics/claim_patterns.py cannot, because there is no end to such phrases.

So the check is lexical: a content word of the summary is unsupported when its stem occurs neither
in the narrative, nor in the summary vocabulary below (the words any plain causal summary is made
of, the catalogue's own cause and manner texts, which the plan hands the model, and the phrases of
the summary realized from the graph, plan/realize.py). A paraphrase
the narrative's words do not carry ("vehicle" for "car" is in the vocabulary; "properly execute"
for "changed lanes when unsafe" is not) is reported: that errs toward writing the summary from the
graph (faithful by construction) rather than keeping an unsupported judgment.
"""

from __future__ import annotations

import re

from crashtransformer.metrics.faithfulness import STOPWORDS
from crashtransformer.metrics.text import STEMMER
from crashtransformer.plan.catalogue import FACTORS, MANNERS
from crashtransformer.plan.realize import CAUSE_PHRASES, MANNER_PHRASES

# The words of a plain causal summary that no narrative needs to contain: who, what struck what,
# and how a cause leads to a collision. Words that are claims in themselves (signals, weather,
# intersections, injuries, turns) are deliberately absent: they need the narrative's word.
SUMMARY_VOCABULARY = frozenset("""
unit units vehicle vehicles car cars driver drivers operator party parties crash crashes collision collisions
collided collide colliding collides struck strike strikes striking hit hits hitting impact impacted contact
contacted result results resulted resulting cause causes caused causing led lead leading due because
occurred occur occurs happened involved involving involve another also first second third other two three
one front back rear side part into onto when then while after before where which whose root failure failed
fail failing failures making made attempting attempted attempt adjacent stationary time road roadway slowed
slowing came coming bound ahead already multiple reported proceed proceeded proceeding allowed behind lane lanes
traveling travelling traveled travelled moving moved going direction approaching entering exiting position rest
damage damaged
""".split())
# The judgments the references' LLM adds in its own words, which no plain summary of a police
# narrative needs, and none of the catalogue's or the realizer's own words ("turned improperly" is a
# plan text: tests/test_claims.py). Generation forbids them, as it forbids hedges (infer/generation.py); the lexical
# check above catches the rest, whatever the wording.
JUDGMENT_WORDS: tuple[str, ...] = (
    "properly", "obey", "obeyed", "comply", "complied", "inability", "adherence", "caution",
    "cautious", "misjudged", "misjudgment", "error", "assess", "situation", "exercise", "safe following distance",
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")
MIN_LETTERS = 3  # shorter words are function words or unit letters ("U1" is a unit, checked elsewhere)


def _stems(text: str) -> set[str]:
    return {STEMMER.stem(word.lower()) for word in re.findall(r"[a-z]+", text.lower())}


_ALLOWED_STEMS = frozenset(_stems(" ".join(SUMMARY_VOCABULARY) + " " + " ".join(STOPWORDS) + " "
                                  + " ".join(f.plan_text for f in FACTORS) + " " + " ".join(m.plan_text for m in MANNERS)
                                  + " " + " ".join(CAUSE_PHRASES.values()) + " " + " ".join(MANNER_PHRASES.values())))


def narrative_stems(narrative: str) -> frozenset[str]:
    """The stems a summary of this narrative may use (computed once per crash, for every candidate)."""
    return _ALLOWED_STEMS | _stems(narrative)


def unsupported_words(summary: str, allowed: frozenset[str]) -> list[tuple[int, int, str]]:
    """(start, end, word) for each content word of the summary whose stem is not `allowed`
    (narrative_stems)."""
    found = []
    for match in _WORD.finditer(summary):
        parts = re.findall(r"[a-z]+", match.group().lower())  # "right-of-way", "vehicle's"
        if any(len(p) >= MIN_LETTERS and STEMMER.stem(p) not in allowed for p in parts):
            found.append((match.start(), match.end(), match.group()))
    return found
