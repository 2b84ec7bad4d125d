"""Regexes rewritten, before compiling, so that every branch starts with one literal character.

Why: Python's `re` skips over text that cannot start a match only when its compiler knows which
characters a match starts with: a pattern that opens with a literal, a class, or an alternation
whose every branch opens with a literal. Ours open with `\\b`, a lookbehind or a group
(`\\b(?:fail(?:ed|ure)?|did\\s+not)...`), so the engine tried a full match at every character of
the narrative; rewritten, the factor scans of plan/narrative.py run about twice as fast.

`compile_literal_first` distributes what stands first: a group (`(?:a|b)c` -> `ac|bc`), a class
(`[ab]c` -> `ac|bc`), an optional first item (`a?b` -> `ab|b`), and moves assertions behind the
first character (`\\bx` -> `x(?<=\\bx)`). The branches keep the order a backtracking engine tries
them in, so every match (start, end) is the one the pattern as written gives. A pattern it cannot
rewrite (capturing groups, which copies would duplicate; a first item such as `\\s` or `x*`) is
compiled as written.
"""

from __future__ import annotations

import re

MAX_BRANCHES = 400  # past this the alternation itself costs more than skipping ahead saves
_SPECIAL = frozenset("\\[](){}.^$|?*+")
_LOOKAROUNDS = ("(?=", "(?!", "(?<=", "(?<!")


def compile_literal_first(pattern: str) -> re.Pattern:
    """`re.compile(pattern)`, rewritten when it can be (see the module docstring)."""
    if re.compile(pattern).groups:
        return re.compile(pattern)
    branches = _expand(top_level_alternatives(pattern))
    return re.compile("|".join(_by_first_character(branches)) if branches else pattern)


def _structure(text: str):
    """(index, character, groups open after it) for each character outside escapes and classes:
    the one scan both splitting on `|` and finding a group's end need."""
    depth, in_class, index = 0, False, 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        else:
            depth += {"(": 1, ")": -1}.get(char, 0)
            yield index, char, depth
        index += 1


def top_level_alternatives(pattern: str) -> list[str]:
    """`a|(b|c)|d` -> ["a", "(b|c)", "d"]: split on the `|` outside groups and classes."""
    bars = [index for index, char, depth in _structure(pattern) if char == "|" and depth == 0]
    return [pattern[start + 1:end] for start, end in zip([-1, *bars], [*bars, len(pattern)])]


def _by_first_character(branches: list[str]) -> list[str]:
    """`ab|c|ad` -> `a(?:b|d)|c`: one branch per first character, so the engine enters only the
    one that can match. Branches that open with different characters never both match at one
    place, so only the order within a character's group counts, and that order is kept."""
    groups: dict[str, list[str]] = {}
    for branch in branches:
        token = _literal_token(branch)
        groups.setdefault(token, []).append(branch[len(token):])
    return [token + _shared_lookbehind(rests) for token, rests in groups.items()]


def _shared_lookbehind(rests: list[str]) -> str:
    """`(?:(?<=Z)b|(?<=Z)d)` -> `(?<=Z)(?:b|d)`: the moved assertion checked once, not per branch."""
    if len(rests) == 1:
        return rests[0]
    first = rests[0][:_group_end(rests[0])] if rests[0].startswith("(?<=") else ""
    if first and all(rest.startswith(first) for rest in rests):
        return first + "(?:" + "|".join(rest[len(first):] for rest in rests) + ")"
    return "(?:" + "|".join(rests) + ")"


def _expand(branches: list[str]) -> list[str] | None:
    out: list[str] = []
    for branch in branches:
        more = _literal_first(branch)
        if more is None or len(out) + len(more) > MAX_BRANCHES:
            return None
        out.extend(more)
    return out


def _literal_first(branch: str) -> list[str] | None:
    """`branch` as branches that each open with a literal, in the order they are tried; None when
    this does not know how."""
    zero_width = _leading_assertions(branch)
    if zero_width:
        rest = _expand([branch[len(zero_width):]])
        if rest is None:
            return None
        return [_assert_behind(zero_width, b) for b in rest]
    token = _literal_token(branch)
    if token:
        return _optional(branch, token, branch[len(token):])
    if branch.startswith("["):
        end = branch.find("]", 1) + 1
        members = branch[1:end - 1]
        if end == 0 or not members or members[0] == "^" or "\\" in members or "-" in members:
            return None  # negated classes, ranges and class escapes stay as written
        return _optional(branch, None, branch[end:], [re.escape(m) for m in dict.fromkeys(members)])
    if branch.startswith("(?:"):
        end = _group_end(branch)
        return _optional(branch, None, branch[end:], top_level_alternatives(branch[3:end - 1]))
    return None


def _optional(branch: str, token: str | None, rest: str, firsts: list[str] | None = None) -> list[str] | None:
    """The branches of `<first><quantifier?>rest`: each first then the rest, then (for `?`) the rest alone."""
    greedy_optional = rest.startswith("?") and not rest.startswith(("??", "?+"))
    if rest[:1] in ("*", "+", "{") or (rest[:1] == "?" and not greedy_optional):
        return None
    tail = rest[1:] if greedy_optional else rest
    if token is not None and not greedy_optional:
        return [branch]  # already opens with a literal
    options = [token + tail] if token is not None else [first + tail for first in firsts or []]
    return _expand(options + ([tail] if greedy_optional else []))


def _literal_token(branch: str) -> str:
    """The literal character `branch` opens with ("a", "\\.", "\\n"), or ""."""
    if not branch:
        return ""
    if branch[0] not in _SPECIAL:
        return branch[0]
    if branch[0] == "\\" and len(branch) > 1 and (not branch[1].isalnum() or branch[1] in "nt"):
        return branch[:2]
    return ""


def _leading_assertions(branch: str) -> str:
    """The zero-width items (`\\b`, `\\B`, lookarounds) `branch` opens with."""
    index = 0
    while True:
        if branch.startswith(("\\b", "\\B"), index):
            index += 2
        elif branch.startswith(_LOOKAROUNDS, index):
            index += _group_end(branch[index:])
        else:
            return branch[:index]


def _assert_behind(zero_width: str, branch: str) -> str:
    """`Zx...` as `x(?<=Zx)...`: the assertions checked, one character on, where they stood."""
    token = _literal_token(branch)
    return f"{token}(?<={zero_width}{token}){branch[len(token):]}"


def _group_end(text: str) -> int:
    """Index just past the `)` that closes the group `text` opens with."""
    for index, char, depth in _structure(text):
        if char == ")" and depth == 0:
            return index + 1
    raise ValueError(f"unbalanced group in {text!r}")
