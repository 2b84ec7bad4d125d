"""A summary written from the crash graph alone: it says no more than the graph read.

`run` writes it when every model candidate asserts something the narrative does not support
(infer/summarizer.py, `summary_source: graph`). It states only what the plan states: causes of
measured precision with the unit the narrative gives them, and the collision's manner only when a
rule read it from the text (plan/graph.py PLAN_MIN_CONFIDENCE; not a crossing only a cause implies);
where the officer writes that fault could not be determined, no cause at all. It is only as right
as the graph: a misread cause or manner is repeated (an independent audit found unsupported claims
in 9 of 21 such summaries), so `run` writes the first of `realizations` its claim checker passes. A one-sentence summary is followed
by the narrative's scene sentence (`with_scene`); with no readable cause or collision it quotes
the opening sentence rather than guess."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from crashtransformer.plan.catalogue import FACTOR_BY_PLAN_TEXT, MANNER_BY_PLAN_TEXT, PlanStep
from crashtransformer.plan.graph import PLAN_MIN_CONFIDENCE, person_units, plan_steps_from_graph
from crashtransformer.plan.fault_patterns import FAULT_UNDETERMINED
from crashtransformer.plan.patterns import ALCOHOL_NAMED, SENTENCE_END, UNIT, normalize, normalize_narrative
from crashtransformer.plan.scan_repair import repair

# Each cause as a verb phrase after the unit ("Unit 1 <phrase>").
CAUSE_PHRASES = {
    "unsafe_speed": "drove at an unsafe speed",
    "yield_stop_sign": "failed to yield the right of way at a stop sign",
    "yield_turning_left": "failed to yield the right of way while turning left",
    "yield_yield_sign": "failed to yield the right of way at a yield sign",
    "yield_private_drive": "failed to yield the right of way from a private drive",
    "yield_pedestrian": "failed to yield the right of way to a pedestrian",
    "disregarded_signal": "disregarded a traffic signal",
    "disregarded_stop_sign": "disregarded a stop sign",
    "failed_single_lane": "failed to drive in a single lane",
    "wrong_way": "drove the wrong way",
    "driver_inattention": "was inattentive",
    "cell_phone": "was distracted by a cell phone",
    "under_influence_alcohol": "was under the influence of alcohol",
    "under_influence_drugs": "was under the influence of drugs",
    "fatigued": "was fatigued",  # "fell asleep" where the narrative says so (_cause)
    "ill": "had a medical condition",
    "unsafe_start": "started unsafely",
    "faulty_evasive_action": "took faulty evasive action",
    "defective_brakes": "had defective brakes",
    "pedestrian_failed_to_yield": "failed to yield as a pedestrian",
    "cyclist_failed_to_yield": "failed to yield as a cyclist",
}
# Each manner as the collision it names.
MANNER_PHRASES = {
    "rear_end": "a rear-end collision", "head_on": "a head-on collision", "angle": "an angle collision",
    "left_turn": "a left-turn collision", "sideswipe_same": "a same-direction sideswipe",
    "sideswipe_opposite": "an opposite-direction sideswipe", "backing": "a backing collision",
    "fixed_object": "a collision with a fixed object", "rollover": "a rollover",
    "pedestrian": "a collision with a pedestrian", "cyclist": "a collision with a cyclist",
    "animal": "a collision with an animal",
}
# Words a narrative must use for a summary to say them: "fell asleep", "alcohol"
_SAID = {"asleep": re.compile(r"\b(?:asleep|sleep\w*|dozed|nodded\s+off)\b"), "alcohol": ALCOHOL_NAMED}
MAX_QUOTED_WORDS = 40  # the narrative's first sentence, when nothing else can be said
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_MARKERS = re.compile(r"\*+[^*]*\*+")  # ***bwc available*** and the like: left out
_FIRST_SENTENCE = re.compile(r"\s*(?:\*+[^*]*\*+\s*)*(.+?(?:[.!?](?=\s|$)|$))", re.S)


def _unit(actor: str | None) -> str | None:
    """"Unit 2" for a unit; None for a pedestrian, object or animal (the manner names those)."""
    return f"Unit {actor[1:]}" if actor and actor[:1] == "U" and actor[1:].isdigit() else None


def _said(narrative: str) -> frozenset[str]:
    norm = normalize_narrative(narrative)
    return frozenset(word for word, pattern in _SAID.items() if pattern.search(norm))


def _cause(step: PlanStep, said: frozenset[str] = frozenset()) -> str:
    factor = FACTOR_BY_PLAN_TEXT.get(step.cause)
    if factor and factor.key == "fatigued" and "asleep" in said:
        return "fell asleep"  # "fatigued or asleep" would assert what one narrative does not say
    if factor and factor.key == "under_influence_alcohol" and "alcohol" not in said:
        return "was intoxicated"  # "intoxicated", "DWI": no substance named
    return CAUSE_PHRASES.get(factor.key, factor.plan_text) if factor else step.cause


_CROSSING = frozenset({"angle", "left_turn"})


def _named(event: dict) -> bool:
    """A manner a summary may name: read from the text with plan-grade confidence. A crossing only
    implied by a cause ("failed to yield", "ran the red light": an angle) or guessed by the classifier
    is not said: the blind audits marked 7 of the 11 cause-implied angles they read unsupported."""
    rule = str(event.get("rule", ""))
    implied = rule == "factor" and event.get("key") in _CROSSING
    return bool(event.get("key")) and not implied and not rule.startswith("learned") \
        and event.get("confidence", 0.0) >= PLAN_MIN_CONFIDENCE


def _read_manners(graph: dict) -> set[str]:
    return {e["key"] for e in graph.get("events", []) if e.get("type") == "collision" and _named(e)}


def _step_sentence(steps: list[PlanStep], manners: set[str], persons: dict[str, str], said: frozenset[str]) -> str:
    """One sentence for steps that share their units and collision: "Unit 1 passed unsafely and
    was fatigued, resulting in ...", not the collision told twice."""
    step = steps[0]
    subject = (_unit(step.actors[0]) if step.actors else None) or "A driver"
    manner = MANNER_BY_PLAN_TEXT.get(step.effect)
    key = manner.key if manner and manner.key in manners else None
    other = step.actors[1] if len(step.actors) > 1 and _unit(step.actors[1]) else None
    causes = " and ".join(_cause(s, said) for s in steps)
    return f"{subject} {causes}, resulting in {_collision_with(key, other, step.actors[:1], persons)}."


def _collision_with(key: str | None, other: str | None, subject: tuple[str, ...], persons: dict[str, str]) -> str:
    """"a rear-end collision with Unit 2"; a pedestrian or cyclist who is a unit is that unit
    ("a collision with Unit 2, a pedestrian"), never a third party beside it."""
    with_other = f" with {_unit(other)}" if other else ""
    if key in ("pedestrian", "cyclist") and other:
        if persons.get(other) == key:
            return f"a collision with {_unit(other)}, a {key}"
        if not (subject and persons.get(subject[0]) == key):
            return f"a collision involving a {key} and {_unit(other)}"
        key = None  # the subject is the person: its cause says so
    if key == "fixed_object" and other:
        return f"a collision with {_unit(other)}, a parked vehicle"  # a unit is a fixed object only when parked
    return f"{MANNER_PHRASES.get(key or '', 'a collision')}{with_other}"


def _same_collision_groups(steps: list[PlanStep]) -> list[list[PlanStep]]:
    groups: list[list[PlanStep]] = []
    for step in steps:
        if groups and (groups[-1][0].actors, groups[-1][0].effect) == (step.actors, step.effect):
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def _lone_unit(graph: dict) -> list[str]:
    """The graph's one unit, when it names just one: a deer struck "the vehicle" is Unit 1's collision, not "the units'"."""
    units = [e["id"].rsplit(":", 1)[-1] for e in graph.get("entities", []) if e.get("type") == "unit"]
    return [u for u in map(_unit, units) if u] if len(units) == 1 else []


def _collision_sentence(graph: dict, name_manner: bool = True) -> str | None:
    """Units and manner of the first rule-read collision, without saying who struck whom."""
    for event in graph.get("events", []):
        if event.get("type") != "collision" or str(event.get("rule", "")).startswith("learned"):
            continue
        ends = dict.fromkeys((event.get("actor"), event.get("target")))
        units = [u for u in (_unit(e.rsplit(":", 1)[-1]) for e in ends if e) if u] or _lone_unit(graph)
        manner = MANNER_PHRASES.get(event.get("key") or "") if name_manner and _named(event) else None
        who = " and ".join(units) if units else "The units"
        person = _person_unit(graph, ends)
        if manner and person and len(units) == 2:  # "Unit 2, a cyclist": not a third party
            driver = next(u for u in units if u != _unit(person[0]))
            return f"{driver} was in a collision with {_unit(person[0])}, a {person[1]}."
        if manner and len(units) == 2 and event.get("key") == "fixed_object":  # the struck unit was parked
            return f"{units[0]} was in {_collision_with('fixed_object', event['target'].rsplit(':', 1)[-1], (), {})}."
        if manner and len(units) == 2 and event.get("key") in ("pedestrian", "cyclist"):
            # one of the two units may be the person: "with a pedestrian" would add a third party
            return f"{who} were in a collision involving a {event['key']}."
        if manner:
            return f"{who} {'were' if len(units) != 1 else 'was'} in {manner}."
        return f"{who} collided." if len(units) > 1 else f"{who} was in a collision."
    return None


def _person_unit(graph: dict, ends) -> tuple[str, str] | None:
    """(U-number, "pedestrian" | "cyclist") of a collision party that is a unit on foot or on a bicycle."""
    persons = person_units(graph)
    for end in ends:
        short = end.rsplit(":", 1)[-1] if end else ""
        if short in persons:
            return short, persons[short]
    return None


def first_sentence(narrative: str) -> str:
    """The narrative's opening sentence (markers such as ***bwc available*** skipped), capitalised."""
    match = _FIRST_SENTENCE.match(narrative or "")
    text = " ".join((match[1] if match else "").split()[:MAX_QUOTED_WORDS])
    return text[:1].upper() + text[1:]


def quote_first_sentence(narrative: str) -> str:
    opening = first_sentence(narrative)
    return f'The narrative begins: "{opening}"' if opening else "The narrative is empty."


def scene_sentence(narrative: str) -> str:
    """The narrative's first sentence that names a unit ("unit 1 was traveling north on ..."),
    capitalised; "" when none does (an opening like "officers responded to a crash" says nothing).
    Sentences end where the crash graph's do (plan/patterns.py SENTENCE_END): "n. fairfield" or
    "preston rd. in the left lane" is not cut into a fragment. A scan's broken words are quoted mended."""
    narrative = repair(narrative or "")[0]
    norm = normalize(narrative)
    ends = [m.end() for m in SENTENCE_END.finditer(norm)]
    for start, end in zip([0] + ends, ends + [len(norm)]):
        if not UNIT.search(norm[start:end]):
            continue
        sentence = _MARKERS.sub(" ", narrative[start:end])
        text = " ".join(sentence.split()[:MAX_QUOTED_WORDS])
        return text[:1].upper() + text[1:]
    return ""


def with_scene(summary: str, narrative: str) -> str:
    """A one-sentence summary followed by the narrative's own scene sentence (who was where,
    going which way): what a causal sentence leaves out, in the officer's words, so it adds
    nothing the narrative does not say, and two crashes of one kind no longer read the same."""
    scene = scene_sentence(narrative)
    if len(_SENTENCE_END.findall(summary)) > 1 or not scene or scene.lower() in summary.lower():
        return summary
    return f"{summary} {scene}"


NOTHING_READ = "No cause or collision could be read from the narrative."


def realize_summary(graph: dict, narrative: str, scene: bool = True, name_manners: bool = True,
                    causes: bool = True) -> str:
    """One or two sentences that say only what the crash graph read from the narrative; `scene`:
    with the narrative's opening sentence; `name_manners`: the collision's manner named; `causes`:
    the plan's causes stated (realizations lists the combinations, most informative first)."""
    # where the officer writes that fault was not established, the causes are the parties' claims:
    # none is stated, only the collision
    undetermined = FAULT_UNDETERMINED.search(normalize_narrative(narrative)) is not None
    steps = [] if undetermined or not causes else plan_steps_from_graph(graph)[:2]
    if not steps:
        collision = _collision_sentence(graph, name_manners)
        if collision:
            return with_scene(collision, narrative) if scene else collision
        return quote_first_sentence(narrative) if scene else NOTHING_READ
    manners = _read_manners(graph) if name_manners else set()
    persons = person_units(graph)
    said = _said(narrative)
    stated = " ".join(_step_sentence(group, manners, persons, said) for group in _same_collision_groups(steps))
    return with_scene(stated, narrative) if scene else stated


def realizations(graph: dict, narrative: str) -> Iterator[str]:
    """The graph's summaries from the most to the least it says, each once and only when asked for:
    `run` writes the first its claim checker passes (infer/summarizer.py), so a cause or manner the
    checker cannot find in the narrative ("left-turn" where no turn is written) is left out rather
    than repeated."""
    seen = set()
    for causes, name_manners, scene in itertools.product((True, False), repeat=3):
        text = realize_summary(graph, narrative, scene, name_manners, causes)
        if text not in seen:
            seen.add(text)
            yield text
    if NOTHING_READ not in seen:
        yield NOTHING_READ
