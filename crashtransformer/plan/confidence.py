"""What an event's `confidence` means: the measured precision of the rule that produced it.

`confidence.json` beside this module is written by `python bench/bench_texas.py calibrate`: for
each manner rule (plan/manner_rules.py RULES) and each factor, the share of its outputs that were
right on the development labels (Texas CRIS development split and the CISS development half for
manners; Texas development split for factors), smoothed toward the pooled precision so a rule
seen a few times is not called certain. So `confidence: 0.8` means about 80 % of such events are
right. docs/plan-extraction.md has the reliability plot on the held-out labels.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("confidence.json")
UNMEASURED = 0.5  # a rule or factor the development labels never saw fire: no claim either way


@lru_cache(maxsize=1)
def _table() -> dict:
    if not TABLE.is_file():  # only while bench/bench_texas.py calibrate is writing the first table
        return {"manner": {}, "factor": {}}
    return json.loads(TABLE.read_text(encoding="utf-8"))


def manner_confidence(rule: str) -> float:
    return float(_table()["manner"].get(rule, UNMEASURED)) if rule else 0.0


def factor_confidence(key: str, how: str = "stated") -> float:
    """`how` is "stated" or, for a bare "failed to yield", how its kind was resolved."""
    factors = _table()["factor"]
    return float(factors.get(f"{key}:{how}", factors.get(key, UNMEASURED)))
