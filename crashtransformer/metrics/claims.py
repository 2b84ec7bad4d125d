"""The claim-support checker: which assertions of a summary its narrative does not support.

A summary is split into claims (causes, speed, impairment, blame, manner, units and what they did,
turns, traffic control, conditions, injuries, places and numbers, hedges); each claim is checked
against the narrative's text and its crash graph (plan/graph.py). A claim is unsupported when the
narrative holds no cue for it, when the graph gives the cause to another unit, or when it blames a
unit although the officer wrote that fault could not be determined. Hedges ("likely", "may have")
are always reported: a guess is not a finding.

Pure functions of (summary, narrative, graph); validated against people in bench/bench_claims.py
on the hand labels of data/labels/cris_claim_labels.jsonl (docs/claim-labelling-guide.md).
"""

from __future__ import annotations

import re

from crashtransformer.metrics import claim_patterns as cp
from crashtransformer.metrics.claim_facts import Claim, NarrativeFacts, ParsedSummary, factor_family
from crashtransformer.metrics.faithfulness import STOPWORDS, invented_places
from crashtransformer.metrics.wording import unsupported_words
from crashtransformer.plan.catalogue import FACTOR_BY_KEY
from crashtransformer.plan.collision_patterns import COLLISION_VERB, NON_CONTACT
from crashtransformer.plan.graph import towed_units
from crashtransformer.plan.patterns import (ALCOHOL_NAMED, FACTOR_RES, FACTOR_TRIGGERS, NEGATION_AFTER, NEGATION_BEFORE,
                                            NUMBER_WORDS, UNIT, unit_number)

# How a factor claim is typed: the checker reports speed and impairment apart from other causes.
_CLAIM_TYPE_OF_FAMILY = {"speed": "factor", "impairment": "impairment"}
# A summary's cause is supported by any of these narrative causes (the same finding, other words).
_SUPPORTED_BY = {
    "failed_to_control_speed": {"failed_to_control_speed", "unsafe_speed", "followed_too_closely"},
    "driver_inattention": {"driver_inattention", "cell_phone"},
    "failed_single_lane": {"failed_single_lane", "unsafe_lane_change"},
}
_MANNER_KEYS = {"rear-end": {"rear_end"}, "head-on": {"head_on"}, "sideswipe": {"sideswipe_same", "sideswipe_opposite"},
                "angle": {"angle", "left_turn"}, "rollover": {"rollover"}, "pedestrian": {"pedestrian"},
                "cyclist": {"cyclist"}, "parked vehicle": {"fixed_object"}}
def _check_factors(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    for key, regex in FACTOR_RES.items():
        if key == "pedestrian_acts" or not any(t in summary.text for t in FACTOR_TRIGGERS[key]):
            continue
        for match in regex.finditer(summary.text):
            span = summary.claim_at(match)
            if span is None:
                continue
            family = factor_family(key)
            kind = "speed" if key == "unsafe_speed" else _CLAIM_TYPE_OF_FAMILY.get(family, "factor")
            if not _factor_supported(key, facts):
                label = FACTOR_BY_KEY[key].plan_text if key in FACTOR_BY_KEY else "failed to yield"
                summary.unsupported(kind, span, f"the narrative gives no cue for '{label}'")
            elif key == "under_influence_alcohol" and ALCOHOL_NAMED.search(match.group()) and not facts.has(ALCOHOL_NAMED):
                summary.unsupported(kind, span, "the narrative says intoxicated or DWI, and names no alcohol")
            elif key == "driver_inattention" and "distract" in match.group() and not facts.has(cp.DISTRACTION):
                summary.unsupported(kind, span, "the narrative names no distraction (inattention is not one)")
            elif key == "yield" and facts.rear_end_without_yield:
                summary.unsupported(kind, span, "a rear-end: the narrative has no right of way to yield")
            else:
                _check_blame(summary, facts, span, family, _failing_unit(summary, match))


def _failing_unit(summary: ParsedSummary, match: re.Match) -> str | None:
    """"the failure of Unit #1's driver to control speed": the unit named inside the failure."""
    if not match.group().startswith("failure of"):
        return None
    return next((unit for start, _, unit in summary.units if match.start() <= start < match.end()), None)


def _factor_supported(key: str, facts: NarrativeFacts) -> bool:
    if key == "yield" or factor_family(key) == "yield":
        said = any(factor_family(k) == "yield" for k in facts.factor_keys)
        # a scene's yield needs someone to yield to: not a lone vehicle's run off the road
        return said or (facts.other_party and ("left_turn" in facts.manners or facts.has(cp.YIELD_SCENE)))
    if key == "disregarded_signal" and facts.has(cp.SIGNAL_SCENE):
        return True
    return bool(_SUPPORTED_BY.get(key, {key}) & facts.factor_keys)


def _check_blame(summary: ParsedSummary, facts: NarrativeFacts, span: tuple[int, int], family: str,
                 subject: str | None = None) -> None:
    """A cause pinned on a unit: the narrative must not give it to another, nor leave fault open."""
    # the graph gives the cause to another unit (or, where it reads no such cause, blames another),
    # and no sentence stating it names this one
    owners = facts.actors_by_family.get(family, set()) or facts.blamed
    _check_owner(summary, span, subject or summary.subject_before(span[0], span[1]), facts.fault_undetermined,
                 owners, owners | facts.units_near(family))


def _check_fault_words(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    for match in cp.FAULT_CLAIM.finditer(summary.text):
        subject = summary.subject_before(match.start())
        span = summary.claim_at(match)
        if span is not None:
            _check_owner(summary, span, subject, facts.fault_undetermined, facts.blamed, facts.blamed)
    for match in cp.ON_THE_PART_OF.finditer(summary.text):  # "... on the part of the driver of Unit 2"
        unit = UNIT.match(summary.text, match.end())
        already = any(c.type == "blame" and 0 <= match.start() - c.end <= 45 for c in summary.found)
        span = summary.claim_at((match.start(), unit.end())) if unit and not already else None
        if span is not None:
            _check_owner(summary, span, f"U{unit_number(unit)}", facts.fault_undetermined, facts.blamed, facts.blamed)


def _check_owner(summary: ParsedSummary, span: tuple[int, int], subject: str | None, left_open: bool,
                 owners: set[str], allowed: set[str]) -> None:
    """The one blame rule: a claim pinned on `subject` is unsupported where the narrative leaves fault
    open, or gives it to `owners` and `subject` is not among the units it may be said of (`allowed`)."""
    if subject is None:
        return
    if left_open:
        summary.unsupported("blame", span, f"blames {subject}; the narrative says fault could not be determined")
    elif owners and subject not in allowed:
        summary.unsupported("blame", span, f"blames {subject}; the narrative gives this to {', '.join(sorted(owners))}")


def _check_cued(summary: ParsedSummary, facts: NarrativeFacts, kind: str, table) -> None:
    """Claims of a (name, claim pattern, support cue) table: each needs its cue in the narrative."""
    for name, claim, cue in table:
        for match in claim.finditer(summary.text):
            span = summary.claim_at(match)
            if span is None:
                continue
            if kind == "manner" and _MANNER_KEYS.get(name, set()) & facts.manners:
                continue
            if kind == "unit" and facts.has(cue):
                _check_state_of(summary, facts, span, name, claim)
            elif not facts.has(cue):
                summary.unsupported(kind, span, f"the narrative says nothing of '{name}'")
            elif name == "lost control":
                _check_control_lost_by(summary, facts, span, cue)
            elif kind == "factor":
                _check_cause_owner(summary, facts, span, claim)


def _check_state_of(summary: ParsedSummary, facts: NarrativeFacts, span: tuple[int, int], name: str,
                    claim: re.Pattern) -> None:
    """"Unit 2 was stopped", "a collision with Unit 2 after it changed lanes": the unit named last before the
    claim must be one the narrative names where it says the same words (any unit of that sentence), where it
    says them of any.
    (Turns are left: "Unit 1 failed to yield to Unit 2's right of way while turning left" names its turner first.)"""
    said_of = facts.units_before(claim)
    unit = summary.unit_named_before(span[0])
    if said_of and unit and unit not in said_of:
        summary.unsupported("unit", span, f"{unit}: {name}; the narrative says it of {', '.join(sorted(said_of))}")


def _check_control_lost_by(summary: ParsedSummary, facts: NarrativeFacts, span: tuple[int, int], cue: re.Pattern) -> None:
    """A loss of control is what a unit did, not a fault to pin on the one blamed: where the narrative names
    who lost control (or spun, or rolled over), the summary must name one of them."""
    losers = facts.units_before(cue)
    _check_owner(summary, span, summary.subject_before(span[0], span[1]), False, losers, losers)


def _check_cause_owner(summary: ParsedSummary, facts: NarrativeFacts, span: tuple[int, int], claim: re.Pattern) -> None:
    """A cause outside the catalogue pinned on a unit ("Unit 1 failed to stop in time"): the unit must be
    the one the narrative blames, or one it names where it says the same ("unit 2 was unable to stop"),
    and the officer must not leave fault open in words (NarrativeFacts.fault_left_open)."""
    _check_owner(summary, span, summary.subject_before(span[0], span[1]), facts.fault_left_open,
                 facts.blamed, facts.blamed | facts.units_before(claim))


def _check_extra_factors(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    _check_cued(summary, facts, "factor", cp.EXTRA_FACTORS)
    for match in cp.SAFE_SPEED.finditer(summary.text):
        span = summary.claim_at(match)
        if span and not facts.has(cp.SPEED_SUPPORT):
            summary.unsupported("factor", span, "the narrative says nothing of speed")


def _check_objects(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    for match in cp.ANIMAL.finditer(summary.text):
        span = summary.claim_at(match)
        word = match.group().rstrip("s")
        if span and not (facts.has(re.compile(re.escape(word))) or (word == "animal" and facts.has(cp.ANY_ANIMAL))):
            summary.unsupported("manner", span, f"the narrative mentions no {word}")
    for claim, cue in cp.OBJECTS:
        for match in re.finditer(claim, summary.text):
            span = summary.claim_at(match)
            if span and not facts.has(re.compile(rf"\b(?:{cue})")):  # a word's start: "street" holds no tree
                summary.unsupported("manner", span, f"the narrative mentions no {match.group()}")
    for match in cp.FIXED_OBJECT_CLAIM.finditer(summary.text):  # a parked car is the catalogue's fixed object, not a reader's
        span = summary.claim_at(match)
        if span and not facts.objects_struck:
            summary.unsupported("manner", span, "the narrative tells no object struck (a parked vehicle is none)")


def _check_units(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    for start, end, unit in summary.units:
        number = int(unit[1:])
        if number not in facts.unit_numbers and (facts.unit_numbers or number > 1):
            summary.unsupported("unit", (start, end), f"the narrative names no unit {number}")
    _check_self_reference(summary)
    _check_strike_roles(summary, facts)
    _check_contact(summary, facts)
    _check_rigs(summary, facts)
    _check_cued(summary, facts, "unit", cp.UNIT_STATES)


def _check_self_reference(summary: ParsedSummary) -> None:
    """"Unit 2 failed to yield to Unit 2", "Unit 1 struck Unit 1": one unit on both sides of what happened, the
    only unit its sentence names ("Unit 1 failed to yield to Unit 2's right of way, colliding with Unit 2" is fine)."""
    for verb in cp.STRUCK_UNIT.finditer(summary.text):
        unit = UNIT.match(summary.text, verb.end())
        if unit and set(summary.units_in_sentence_before(verb.start())) == {f"U{unit_number(unit)}"}:
            span = summary.claim_at(unit.span())  # the second naming: the verb may be a claim of its own
            if span:
                summary.unsupported("unit", span, f"names U{unit_number(unit)} on both sides")


def _check_strike_roles(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    """Who struck whom: "Unit 1 struck Unit 2", or "Unit 1 failed to yield the right of way, striking
    Unit 2" (the striker is the sentence's subject, however far from the verb), where the narrative has
    unit 2 striking unit 1, or tells no strike at all ("were involved in a minor accident")."""
    untold = not facts.has(COLLISION_VERB)
    for verb in cp.STRIKER_VERB.finditer(summary.text):
        unit = UNIT.match(summary.text, verb.end())
        striker = summary.subject_before(verb.start())
        if unit is None or striker is None:
            continue
        struck = f"U{unit_number(unit)}"
        swapped = (struck, striker) in facts.strikes and (striker, struck) not in facts.strikes
        span = summary.claim_at((verb.start(), unit.end())) if swapped or untold else None
        if span and swapped:
            summary.unsupported("unit", span, f"the narrative has {struck} striking {striker}")
        elif span:
            summary.unsupported("unit", span, "the narrative never says which unit struck which")


def _check_rear_end_roles(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    """"Unit 1 ... led to a rear-end collision with Unit 2" where the narrative has Unit 2 striking Unit 1.
    (Run before the manner claims, whose "rear-end" would cover the span.)"""
    for verb in cp.MET_VERB.finditer(summary.text):
        unit = UNIT.match(summary.text, verb.end())
        mover = summary.subject_before(verb.start())
        other = f"U{unit_number(unit)}" if unit else None
        if mover and other and (other, mover) in facts.strikes and (mover, other) not in facts.strikes:
            span = summary.claim_at((verb.start(), unit.end()))
            if span:
                summary.unsupported("unit", span, f"the narrative has {other} striking {mover}")


def _check_contact(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    """"A collision with Unit 2" where the narrative says contact with it was avoided and no collision
    the graph reads involves it ("unit 1 swerved ... and crashed into the business sign; unit 1 avoided
    contact with unit 2")."""
    if not (facts.has(cp.CONTACT_AVOIDED) or facts.has(NON_CONTACT)):
        return
    involved = {unit for strike in facts.strikes for unit in strike}
    for verb in cp.STRUCK_UNIT.finditer(summary.text):
        unit = UNIT.match(summary.text, verb.end())
        if unit is None or verb.group().startswith("yield") or f"U{unit_number(unit)}" in involved:
            continue  # a unit yielded to was never said to be struck
        span = summary.claim_at((verb.start(), unit.end()))
        if span:
            summary.unsupported("manner", span, f"the narrative says U{unit_number(unit)} was not struck")


def _check_rigs(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    """A towing rig's two units told apart: its own trailer is not the unit it struck or failed to
    yield to, and the tower is not the unit struck where the text has its trailer struck."""
    towed = towed_units(facts.graph)
    hit = {target for _, target in facts.strikes}
    for verb in cp.STRUCK_UNIT.finditer(summary.text) if towed else ():
        unit = UNIT.match(summary.text, verb.end())
        other = f"U{unit_number(unit)}" if unit else None
        yielded = verb.group().startswith("yield")
        trailer = next((t for t, tower in towed.items() if tower == other and t in hit), None)
        if other in towed and other not in hit:
            reason = "a unit yields to a rig, not to its trailer" if yielded else "nothing struck it"
            summary.unsupported("unit", (verb.start(), unit.end()), f"{other} was towed by {towed[other]}; {reason}")
        elif trailer and other not in hit and not yielded:
            summary.unsupported("unit", (verb.start(), unit.end()), f"the narrative has {trailer}, towed by {other}, struck")


def _said(cue: re.Pattern, text: str) -> bool:
    """The cue, not denied ("was determined not to be intoxicated", "intox results are pending")."""
    return any(not NEGATION_BEFORE.search(text, max(0, m.start() - 30), m.start())
               and not NEGATION_AFTER.search(text[m.end():m.end() + 60]) for m in cue.finditer(text))


def _check_simple(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    for claim, cue, kind, name in ((cp.INJURY, cp.INJURY_SUPPORT, "injury", "injuries"),
                                   (cp.IMPAIRMENT_WORD, cp.IMPAIRMENT_SUPPORT, "impairment", "impairment")):
        text = facts.text_without_impaired_view if kind == "impairment" else facts.text  # "visibility was impaired": no driver
        for match in claim.finditer(summary.text):
            span = summary.claim_at(match)
            if span and not _said(cue, text):
                summary.unsupported(kind, span, f"the narrative says nothing of {name}")
    for match in cp.DIRECTION_CLAIM.finditer(summary.text):
        span = summary.claim_at(match)
        if span and not facts.has(cp.DIRECTIONS[match[1]]):
            summary.unsupported("specifics", span, f"the narrative gives no {match[1]}bound travel")
    for match in cp.ADJACENT_LANE.finditer(summary.text):
        span = summary.claim_at(match)
        if span and not facts.has(cp.ADJACENT_SUPPORT):
            summary.unsupported("specifics", span, "the narrative puts no units in lanes side by side")
    for match in cp.LANE_CLAIM.finditer(summary.text):
        span = summary.claim_at(match)
        if span and not facts.has(_lane_named(match[1])):
            summary.unsupported("specifics", span, f"the narrative names no {match[1]} lane")
    for invented in invented_places(summary.original, facts.text):
        found = re.search(r"(?<![\w.])" + re.escape(invented) + r"(?![\w])", summary.text)
        span = summary.claim_at(found) if found else None
        if span:
            summary.unsupported("specifics", span, f"the narrative never mentions {invented}")


_ORDINALS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")  # "second lane", not "two lanes"


def _lane_named(name: str) -> re.Pattern:
    """The narrative naming the lane a summary names: "the outside lane"; a numbered one as "#2 lane",
    "number 2 lane", "lane 2", "lane two" or "second lane" - not "unit #2 changed lanes"."""
    number = re.sub(r"\D", "", name)
    if number:
        word = next((w for w, n in NUMBER_WORDS.items() if n == int(number)), number)  # "lane two"
        ordinal = _ORDINALS[int(number)] if 0 < int(number) < 10 else number
        return re.compile(rf"(?<!unit\s)(?<!veh\s)(?<!vehicle\s)(?:#|number\s|no\.?\s?)\s*{number}\s+"
                          r"(?:(?:travel|traffic|through|turn|left|right)\s+)?(?:lanes?|ln)\b"
                          rf"|\b(?:lane|ln)\s*(?:#|number|no\.?)?\s*(?:{number}|{word})\b|\b{ordinal}\s+(?:travel\s+|traffic\s+)?lane\b")
    return re.compile(re.escape(name) + r"(?:[\s-]+most)?\s+(?:\w+\s+){0,2}?(?:lanes?|ln)\b")


def _check_hedges(summary: ParsedSummary) -> None:
    for match in cp.HEDGE.finditer(summary.text):
        summary.spans.append(match.span())
        summary.unsupported("hedge", match.span(), "speculation: the narrative records what happened, not a guess")


def _check_wording(summary: ParsedSummary, facts: NarrativeFacts) -> None:
    """Words the narrative never uses (metrics/wording.py), adjacent ones as one claim: "failed to
    properly assess and execute" is one judgment, not three."""
    groups: list[list[tuple[int, int, str]]] = []
    for word in unsupported_words(summary.original, facts.word_stems):
        gap = summary.original[groups[-1][-1][1]:word[0]] if groups else ""
        if groups and len(gap) <= 20 and all(w in STOPWORDS for w in re.findall(r"[a-z']+", gap.lower())) \
                and not re.search(r"[.;!?]", gap):
            groups[-1].append(word)
        else:
            groups.append([word])
    for group in groups:
        span = summary.claim_at((group[0][0], group[-1][1]), deniable=False)
        if span:
            words = ", ".join(f'"{w}"' for _, _, w in group)
            summary.unsupported("wording", span, f"the narrative never uses {words}")


def check_claims(summary: str, narrative: str | None = None, graph: dict | None = None,
                 facts: NarrativeFacts | None = None, wording: bool = False) -> list[Claim]:
    """The summary's unsupported claims, sorted by position. `wording`: also every word the narrative
    never uses (metrics/wording.py), stricter than a reader: what `run` selects with, not what it
    reports (the rates are the reader-validated checker's, docs/faithfulness.md)."""
    facts = facts or NarrativeFacts(narrative or "", graph)
    parsed = ParsedSummary(summary or "")
    _check_hedges(parsed)
    _check_factors(parsed, facts)
    _check_fault_words(parsed, facts)
    _check_extra_factors(parsed, facts)
    _check_rear_end_roles(parsed, facts)
    _check_cued(parsed, facts, "manner", cp.MANNER_CLAIMS)
    _check_cued(parsed, facts, "turn", cp.TURN_CLAIMS)
    _check_cued(parsed, facts, "control", cp.CONTROL_CLAIMS)
    _check_objects(parsed, facts)
    _check_cued(parsed, facts, "conditions", cp.CONDITION_CLAIMS)
    _check_units(parsed, facts)
    _check_simple(parsed, facts)
    if wording:
        _check_wording(parsed, facts)
    return sorted(parsed.found, key=lambda claim: claim.start)


def claim_figures(claims: list[Claim]) -> dict[str, object]:
    """The per-summary figures: unsupported claims (hedges apart) and speculation."""
    asserted = [c for c in claims if c.type != "hedge"]
    return {
        "unsupported_claims": float(len(asserted)),
        "has_unsupported_claim": float(bool(asserted)),
        "has_speculation": float(any(c.type == "hedge" for c in claims)),
        "unsupported_list": "; ".join(f"{c.type}: {c.text} ({c.reason})" for c in claims),
    }


CLAIM_SETTINGS = {
    "unsupported_claim_rate": "share of summaries asserting at least one claim (cause, blame, manner, unit, turn, "
                              "control, conditions, injury, impairment, speed, place or number) their narrative "
                              "does not support (metrics/claims.py)",
    "speculation_rate": "share of summaries with a hedge: " + ", ".join(cp.HEDGE_WORDS),
}
