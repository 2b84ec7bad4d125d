"""plan/literal_first.py: a rewritten regex matches exactly where the pattern as written does."""

import re

import pytest

from crashtransformer.plan import collision_patterns as cp
from crashtransformer.plan import patterns as pp
from crashtransformer.plan.literal_first import compile_literal_first

TEXTS = [
    "unit 1 failed to control speed and struck the rear of unit 2 which was stopped at the red light.",
    "v1 was traveling nb. the driver of v1 didn't stop for the stop sign, veh. 2 was struck; fled on foot",
    "unit #2 (pedestrian) was crossing mid-block when unit 1 hit him. f.t.c.s. ftyrow. un1t 0ne l0st c0ntrol",
    "", "a", "\n\n", "   stop sign ran the red light backed into parked car 3.5 miles n/b ih-35",
]


@pytest.mark.parametrize("pattern", [
    r"\b(?:fail(?:ed|ure)?|did\s+not)\s+to", r"(?<=[a-z])[0|1](?=[a-z])|\b0(?=[a-z])", r"[.!?;](?<!\bveh\.)|\n\s*\n",
    r"\b(?:legally\s+)?parked\b|\bunoccupied\b", r"(?:a|ab)c?|[xy]z", pp.FACTOR_RES["failed_to_control_speed"].pattern,
])
def test_same_matches_as_written(pattern):
    written, rewritten = re.compile(pattern), compile_literal_first(pattern)
    for text in TEXTS:
        assert [m.span() for m in rewritten.finditer(text)] == [m.span() for m in written.finditer(text)]
        for pos in range(len(text) + 1):
            first, second = written.match(text, pos), rewritten.match(text, pos)
            assert (first and first.span()) == (second and second.span())


def test_rewrites_to_a_literal_first_alternation():
    assert compile_literal_first(r"\b(?:ab|cd)e").pattern == r"a(?<=\ba)be|c(?<=\bc)de"
    assert compile_literal_first(r"(?:ab|ac|d)").pattern == r"a(?:b|c)|d"


def test_left_as_written_when_it_cannot_be_rewritten():
    for pattern in (r"\s+x", r"(?P<n>a)b|c", r"a*b", r"[^a]b"):
        assert compile_literal_first(pattern).pattern == pattern
    assert cp.PART.pattern.startswith("(?<!in )")  # named groups read by name: compiled as written
