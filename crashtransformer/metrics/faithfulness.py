"""Plan- and source-aware metrics: plan coverage, faithfulness, hallucinated specifics.

None of these need a model; all are word matching, documented in docs/metrics.md:
- plan coverage: a plan item (a step's cause or its collision) counts as stated when at least
  two thirds of its keywords (plan_text words minus stopwords, Porter-stemmed) occur in the
  summary, so "failed to yield right of way at stop sign" is met by "failed to yield at the
  stop sign" and "rear-end collision" by "rear-ended ... collided";
- faithfulness: share of the summary's content words (and of its word bigrams) that the
  narrative contains, after the same stemming;
- hallucinated specifics: unit numbers, road names and other numbers in the summary that the
  narrative never mentions.
"""

from __future__ import annotations

import math
import re
from crashtransformer.plan.catalogue import parse_plan
from crashtransformer.metrics.text import STEMMER
from crashtransformer.plan.patterns import UNIT, unit_number

# A plan item counts as stated when this share of its keywords is in the summary: strict
# enough that "unsafe speed" is not met by "speed" alone, loose enough for paraphrase.
PLAN_MATCH_SHARE = 2 / 3

STOPWORDS = frozenset("""
a an the and or but if then than so of to in on at by for from with without into onto upon
as is was were be been being are am has have had do does did not no nor this that these those
it its it's he she they them their his her him we us our you your i me my who whom which what
when where while why how there here up down out over under again further once all any both each
few more most other some such only own same too very can will just should would could may might
must shall after before above below between through during about against off
""".split())

_WORD = re.compile(r"\w+", re.UNICODE)


def stemmed_words(text: str | None) -> list[str]:
    """Lower-cased, Porter-stemmed word tokens (unicode letters and digits kept)."""
    return [STEMMER.stem(word) for word in _WORD.findall((text or "").lower())]


def content_words(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in STOPWORDS]


# ----------------------------------------------------------------------------- plan coverage


def _plan_keywords(phrase: str) -> set[str]:
    return set(content_words(stemmed_words(phrase)))


def phrase_stated(phrase: str, summary_tokens: set[str]) -> bool:
    keywords = _plan_keywords(phrase)
    if not keywords:
        return False
    return len(keywords & summary_tokens) >= math.ceil(PLAN_MATCH_SHARE * len(keywords) - 1e-9)


def plan_coverage(summary: str, plan_lines: list[str] | None) -> dict[str, float | None]:
    """Share of the plan's factors (causes) and collisions (effects) the summary states.

    Items are de-duplicated; a plan without items gives None (excluded from the means).
    """
    steps = parse_plan([line for line in plan_lines or [] if line and line.strip()])
    factors = list(dict.fromkeys(step.cause for step in steps if step.cause))
    collisions = list(dict.fromkeys(step.effect for step in steps if step.effect))
    tokens = set(stemmed_words(summary))
    factor_hits = sum(phrase_stated(f, tokens) for f in factors)
    collision_hits = sum(phrase_stated(c, tokens) for c in collisions)
    items = len(factors) + len(collisions)
    return {
        "plan_coverage": (factor_hits + collision_hits) / items if items else None,
        "plan_factor_coverage": factor_hits / len(factors) if factors else None,
        "plan_collision_coverage": collision_hits / len(collisions) if collisions else None,
    }


# ----------------------------------------------------------------------------- faithfulness


def faithfulness(summary: str, narrative: str) -> dict[str, float | None]:
    """Share of summary content words, and of summary word bigrams, found in the narrative."""
    summary_tokens = stemmed_words(summary)
    narrative_tokens = stemmed_words(narrative)
    narrative_set = set(narrative_tokens)
    summary_content = content_words(summary_tokens)
    narrative_bigrams = set(zip(narrative_tokens, narrative_tokens[1:]))
    summary_bigrams = list(zip(summary_tokens, summary_tokens[1:]))
    return {
        "faithfulness_unigram": (sum(t in narrative_set for t in summary_content) / len(summary_content)
                                 if summary_content else None),
        "faithfulness_bigram": (sum(b in narrative_bigrams for b in summary_bigrams) / len(summary_bigrams)
                                if summary_bigrams else None),
    }


# ----------------------------------------------------------------------------- specifics
# Unit mentions ("unit 1", "unit #2", "v3", "veh 1", "vehicle 2", "u1"), numbered roads
# ("IH 35", "I-35", "US 290", "FM 1960", "SH 71", "CR 12") and named roads ("Main St",
# "texas blvd": the word before a street suffix, plus the suffix), then any remaining number.

_NUMBERED_ROAD = re.compile(
    r"\b(interstate|ih|i|us|sh|state highway|fm|rm|cr|county road|spur|loop|hwy|highway|sl|bus)\s*-?\s*(\d+)\b")
_ROAD_PREFIX = {"interstate": "ih", "i": "ih", "state highway": "sh", "highway": "hwy",
                "county road": "cr", "sl": "loop"}
_SUFFIXES = {"st": "st", "street": "st", "ave": "ave", "av": "ave", "avenue": "ave", "rd": "rd",
             "road": "rd", "blvd": "blvd", "boulevard": "blvd", "dr": "dr", "drive": "dr", "ln": "ln",
             "lane": "ln", "pkwy": "pkwy", "parkway": "pkwy", "fwy": "fwy", "freeway": "fwy",
             "expy": "expy", "expressway": "expy", "trl": "trl", "trail": "trl", "ct": "ct",
             "court": "ct", "cir": "cir", "circle": "cir", "pl": "pl", "place": "pl", "hwy": "hwy"}
# Words that precede "lane" without naming a road ("the left lane", "main lanes").
_LANE_WORDS = STOPWORDS | {"left", "right", "center", "inside", "outside", "middle", "turn", "travel",
                               "main", "service", "first", "second", "third", "fourth", "same", "next",
                               "northbound", "southbound", "eastbound", "westbound", "wrong", "bike",
                               "private", "one", "two", "three", "number", "parking", "adjacent"}
_NAMED_ROAD = re.compile(r"\b([a-z][a-z'.]*)\s+(" + "|".join(sorted(_SUFFIXES, key=len, reverse=True)) + r")\b\.?")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def _specifics(text: str) -> tuple[set[str], set[str], set[str], str]:
    """(units, roads, numbers, text with unit and road mentions blanked) of lower-cased text."""
    text = text.lower()
    # every spelling the plan extractor knows: "Unit #2", "veh 2", "V2", "unit two" are one unit
    units = {f"unit {unit_number(m)}" for m in UNIT.finditer(text)}
    roads = {f"{_ROAD_PREFIX.get(m[1], m[1])} {int(m[2])}" for m in _NUMBERED_ROAD.finditer(text)}
    for match in _NAMED_ROAD.finditer(text):
        name = match[1].strip(".'")
        suffix = _SUFFIXES[match[2]]
        if name and name not in STOPWORDS and not (suffix == "ln" and (name in _LANE_WORDS or len(name) < 3)):
            roads.add(f"{name} {suffix}")
    blanked = _NAMED_ROAD.sub(" ", _NUMBERED_ROAD.sub(" ", UNIT.sub(" ", text)))
    numbers = set(_NUMBER.findall(blanked))
    return units, roads, numbers, blanked


def hallucinated_specifics(summary: str, narrative: str) -> dict[str, object]:
    """Unit numbers, road names and numbers in the summary that the narrative never mentions."""
    units, roads, numbers, _ = _specifics(summary or "")
    narrative_units, narrative_roads, _, _ = _specifics(narrative or "")
    narrative_numbers = set(_NUMBER.findall((narrative or "").lower()))
    invented = sorted(units - narrative_units) + sorted(roads - narrative_roads) + sorted(numbers - narrative_numbers)
    total = len(units) + len(roads) + len(numbers)
    return {
        "specifics_total": float(total),
        "hallucinated_specifics": float(len(invented)),
        "has_hallucinated_specific": float(bool(invented)),
        "hallucinated_list": "; ".join(invented),
    }


def invented_places(summary: str, narrative: str) -> list[str]:
    """Roads and numbers of the summary (unit numbers apart) that the narrative never mentions."""
    _, roads, numbers, _ = _specifics(summary or "")
    _, narrative_roads, _, _ = _specifics(narrative or "")
    narrative_numbers = set(_NUMBER.findall((narrative or "").lower()))
    return sorted(roads - narrative_roads) + sorted(numbers - narrative_numbers)


def faithfulness_example(summary: str, narrative: str | None, plan_lines: list[str] | None) -> dict[str, object]:
    """All source- and plan-aware metrics of one summary (source ones only with a narrative)."""
    row: dict[str, object] = {}
    if plan_lines is not None:
        row.update(plan_coverage(summary, plan_lines))
    if narrative is not None:
        row.update(faithfulness(summary, narrative))
        row.update(hallucinated_specifics(summary, narrative))
    return row


FAITHFULNESS_SETTINGS = {
    "tokens": "lower-cased \\w+ words, Porter-stemmed (nltk)",
    "plan_coverage": f"a plan cause/collision counts as stated when >= {PLAN_MATCH_SHARE:.2f} of its "
                     "keywords (plan_text words minus stopwords) occur in the summary",
    "faithfulness": "share of summary content words / word bigrams present in the narrative",
    "hallucinated_specifics": "unit numbers, numbered or named roads and numbers in the summary "
                              "absent from the narrative",
}
