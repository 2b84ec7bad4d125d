"""Offline crash graphs and causal plans: narrative -> graph -> plan lines, no API call.

The graph keeps the original CrashTransformer's shape so its users' tools keep working:

    {"Crash_ID": "123", "crash": {...},
     "entities": [{"id": "123:U1", "type": "unit", "text": "Unit 1", "evidence_span": [0, 6]}, ...],
     "events": [{"id": "123:E1", "type": "factor", "key": "failed_to_control_speed",
                 "label": "failed to control speed", "actor": "123:U1", "target": null,
                 "evidence_span": [7, 30], "confidence": 0.9}, ...],
     "relationships": [{"type": "CAUSES", "source": "123:E1", "target": "123:E2"}]}

A towed unit's entity names its tower (`"towed_by": "123:U1"`), and one that fled or left without stopping to
give its information says so (`"fled": true`); a collision the officer assigns
fault for keeps the words (`"at_fault_evidence_span"`), and so does one where the officer writes
that fault could not be determined (`"at_fault": null`: no unit is blamed). Every event points at
the words that support it (`evidence_span`, character offsets into the narrative as given). A narrative with no recognisable cause gives an empty plan: a
collision whose manner is clear but whose cause is not stated stays in the graph as a
collision event and produces no plan line, because a plan line without a cause would be
invented. Entities and factors: plan/narrative.py; collisions: plan/collisions.py; patterns:
plan/patterns.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from crashtransformer.core.errors import UserError
from crashtransformer.data.limits import bounded_lines, json_error_text, json_problem, too_long_detail
from crashtransformer.data.text import DECODE_ERRORS
from crashtransformer.plan import finding_patterns as finding
from crashtransformer.plan import patterns as pp
from crashtransformer.plan.catalogue import FACTOR_BY_KEY, MANNER_BY_KEY, PlanStep, format_plan
from crashtransformer.plan.collisions import Collision, find_collisions, yields_in_left_turns
from crashtransformer.plan.narrative import Factor, Narrative, find_factors
from crashtransformer.plan.scan_repair import map_span, repair
from crashtransformer.plan.scene import subjects_of

GENERIC_EFFECT = "collision"  # effect of a plan line whose cause is known but manner is not
# A plan states a cause, or a manner, only when words in the narrative gave it (for a manner: not the
# learned guess) and its measured precision (plan/confidence.py) is at least this: the summary is
# written from the plan, and "had a medical condition" read from a passenger's seizure is an invention.
PLAN_MIN_CONFIDENCE = 0.75


# ----------------------------------------------------------------------------- graph
def extract_graph(narrative: str, crash_id: str = "", crash: dict | None = None, fallback: bool = True) -> dict:
    """The crash graph of one narrative (see the module docstring for its shape); `fallback=False`
    keeps to the rules (no learned guess at the manner when no rule gives one)."""
    narrative = narrative or ""
    mended, offsets = repair(narrative)  # an OCR'd scan's clipped and split words, mended
    doc = Narrative(mended)
    factors = find_factors(doc)
    collisions = find_collisions(doc, factors, fallback)
    factors += yields_in_left_turns(doc, collisions)
    prefix = f"{crash_id}:"

    used = {m.key for m in doc.mentions if m.kind in ("unit", "pedestrian", "cyclist", "road")}
    used |= {c.target for c in collisions if c.target} | {c.actor for c in collisions if c.actor}
    entities, left = [], units_that_left(doc)
    for key, (_, start, end) in sorted(doc.entity_text.items(), key=lambda item: item[1][1]):
        if key in used:
            start, end = map_span((start, end), offsets)
            entities.append({"id": prefix + key, "type": doc.kind_of(key), "text": narrative[start:end],
                             "evidence_span": [start, end]})
            if key in doc.towed_by:
                entities[-1]["towed_by"] = prefix + doc.towed_by[key]
            if key in left:
                entities[-1]["fled"] = True

    events, relationships, collision_ids = [], [], []  # factor events come first: E1..En
    for collision in collisions:
        manner = MANNER_BY_KEY.get(collision.manner or "")
        collision_ids.append(f"{prefix}E{len(factors) + len(collision_ids) + 1}")
        events.append({"id": collision_ids[-1], "type": "collision", "key": manner.key if manner else None,
                      "label": manner.plan_text if manner else GENERIC_EFFECT,
                      "actor": _entity_id(prefix, collision.actor), "target": _entity_id(prefix, collision.target),
                      "evidence_span": map_span((collision.start, collision.end), offsets),
                       "confidence": collision.confidence,
                       "rule": collision.rule, "at_fault": _entity_id(prefix, collision.at_fault)})
        if collision.fault_span:
            events[-1]["at_fault_evidence_span"] = map_span(collision.fault_span, offsets)
    factor_events = []
    for number, factor in enumerate(factors, start=1):
        event_id = f"{prefix}E{number}"
        factor_events.append({"id": event_id, "type": "factor", "key": factor.key,
                              "label": FACTOR_BY_KEY[factor.key].plan_text, "actor": _entity_id(prefix, factor.actor),
                              "target": None, "evidence_span": map_span((factor.start, factor.end), offsets),
                              "confidence": factor.confidence, "rule": factor.how})
        caused = _caused_collision(factor, collisions)
        if caused is not None:
            collision = collisions[caused]  # the other party: a unit that passed and was struck led to a crash with its striker
            other = collision.actor if collision.target == factor.actor else collision.target
            factor_events[-1]["target"] = _entity_id(prefix, other)
            relationships.append({"type": "CAUSES", "source": event_id, "target": collision_ids[caused]})
    return {"Crash_ID": crash_id, "crash": dict(crash or {}), "entities": entities,
            "events": factor_events + events, "relationships": relationships}


def units_that_left(doc: Narrative) -> set[str]:
    """Units said to have fled or left without stopping ("unit 1 fled the location", "the driver of unit 1
    fsgi"): the subject of the words (plan/scene.py subjects_of), or of the strike before them ("unit 1 struck
    unit 2 and fled": unit 1); none where two units are its subject ("unit 1 and unit 2 ... left")."""
    left = set()
    for match in finding.LEFT_THE_SCENE.finditer(doc.norm):
        subjects = subjects_of(doc, match.start())
        while len(subjects) == 1 and finding.OBJECT_BEFORE.search(doc.norm, max(0, subjects[0].start - 30), subjects[0].start):
            striker = subjects_of(doc, subjects[0].start)
            if not striker or striker[0].start >= subjects[0].start:
                break
            subjects = striker
        if len(subjects) == 1:
            left.add(subjects[0].key)
    return left


def _entity_id(prefix: str, key: str | None) -> str | None:
    return prefix + key if key else None


def _caused_collision(factor: Factor, collisions: list[Collision]) -> int | None:
    """The collision a factor led to: the first one its actor struck ("unit 1 struck unit 2; unit 2
    followed too closely and struck unit 3": unit 2's cause led to the second), else the first one
    its actor is in, else the first one."""
    if not collisions:
        return None
    struck = [i for i, c in enumerate(collisions) if factor.actor is not None and c.actor == factor.actor]
    involved = [i for i, c in enumerate(collisions) if factor.actor is not None and factor.actor in (c.actor, c.target)]
    return (struck or involved or [0])[0]


def primary_manner(graph: dict) -> str | None:
    """The manner of the first harmful event: the first collision whose manner is known."""
    for event in graph.get("events", []):
        if event.get("type") == "collision" and event.get("key"):
            return event["key"]
    return None


def _primary_collision(graph: dict) -> dict | None:
    collisions = [e for e in graph.get("events", []) if e.get("type") == "collision"]
    return next((e for e in collisions if e.get("key")), collisions[0] if collisions else None)


def _units(graph: dict) -> set[str]:
    return {e["id"] for e in graph.get("entities", []) if e.get("type") == "unit"}


def collision_roles(graph: dict) -> dict[str, str]:
    """{"U1": "striking", "U2": "struck"} for the units of the first harmful event."""
    collision, units = _primary_collision(graph), _units(graph)
    if collision is None:
        return {}
    roles = {}
    for field, role in (("target", "struck"), ("actor", "striking")):  # a unit striking itself: striking
        if collision.get(field) in units:
            roles[_short(collision[field])] = role
    return roles


def person_units(graph: dict) -> dict[str, str]:
    """U-number -> "pedestrian" | "cyclist" for the units on foot or on a bicycle (CRIS numbers them too)."""
    return {short: e["type"] for e in graph.get("entities", [])
            if e.get("type") in ("pedestrian", "cyclist") and (short := _short(str(e.get("id", ""))))[:1] == "U"}


def at_fault_unit(graph: dict) -> str | None:
    """The unit the narrative blames: the one the officer names at fault (none where the officer
    writes that fault could not be determined), else the first unit given a contributing factor,
    else the unit the first harmful event's scene blames (plan/manner_rules.py fault_of). A pedestrian
    or cyclist numbered as a unit can be the one blamed; a towed unit's blame is its towing unit's
    (docs/labelling-guide.md)."""
    blamed = _blamed_unit(graph)
    return towed_units(graph).get(blamed, blamed)


def towed_units(graph: dict) -> dict[str, str]:
    """Towed unit -> the unit towing it ("U2" -> "U1"), from the entities' `towed_by`."""
    return {_short(e["id"]): _short(e["towed_by"]) for e in graph.get("entities", []) if e.get("towed_by")}


def _blamed_unit(graph: dict) -> str | None:
    units = {_short(unit) for unit in _units(graph)} | set(person_units(graph))
    stated = next((e for e in graph.get("events", []) if e.get("at_fault_evidence_span")), None)
    if stated is not None and not stated.get("at_fault"):
        return None  # the officer leaves fault open: conflicting statements, not determined
    if stated is not None and _short(stated["at_fault"]) in units:
        return _short(stated["at_fault"])
    for event in graph.get("events", []):
        if event.get("type") == "factor" and event.get("actor") and _short(event["actor"]) in units:
            return _short(event["actor"])
    collision = _primary_collision(graph)
    if collision and collision.get("at_fault") and _short(collision["at_fault"]) in units:
        return _short(collision["at_fault"])
    vehicles = {_short(unit) for unit in _units(graph)} - set(person_units(graph))
    if collision and collision.get("key") in ("fixed_object", "rollover") and len(vehicles) == 1:
        return vehicles.pop()  # the one vehicle left the road or overturned: its driver, whoever the words left out
    fled = [_short(e["id"]) for e in graph.get("entities", []) if e.get("fled")]
    striker = _short(collision["actor"]) if collision and collision.get("actor") else None
    if len(fled) == 1 and fled[0] in units and striker in (None, fled[0]):
        return fled[0]  # a hit-and-run striker no cause or scene blamed (a struck unit that left caused nothing)
    if not units and any(e.get("type") == "factor" for e in graph.get("events", [])):
        return "U1"  # a cause but no unit numbered ("the driver of the vehicle made an incorrect turn"): the report's unit 1
    return None


# ----------------------------------------------------------------------------- plans
def plan_steps_from_graph(graph: dict) -> list[PlanStep]:
    """One step per cause: `<factor> -> <manner of the collision it caused>`, with its units."""
    events = {event["id"]: event for event in graph.get("events", [])}
    caused = {rel["source"]: events.get(rel["target"]) for rel in graph.get("relationships", [])
              if rel.get("type") == "CAUSES"}
    steps, seen = [], set()
    for event in graph.get("events", []):
        if event.get("type") != "factor" or event.get("confidence", 1.0) < PLAN_MIN_CONFIDENCE:
            continue  # a weakly read cause stays in the graph, for counting, but is not stated
        collision = caused.get(event["id"])
        effect = _effect(event, collision)
        other = (collision or {}).get("target")
        if other == event.get("actor"):  # the factor's unit was the one struck: the other party is the striker
            other = (collision or {}).get("actor")
        actors = tuple(_short(e) for e in dict.fromkeys((event.get("actor"), other)) if e)
        step = PlanStep(event["label"], effect, actors if event.get("actor") else ())
        if (step.cause, step.effect) not in seen:
            seen.add((step.cause, step.effect))
            steps.append(step)
    return steps


def _effect(factor_event: dict, collision: dict | None) -> str:
    if collision is not None and collision.get("key") and _plan_worthy(collision):
        return collision["label"]
    implied = pp.IMPLIED_MANNER.get(factor_event.get("key") or "")
    return MANNER_BY_KEY[implied].plan_text if implied else GENERIC_EFFECT


def _plan_worthy(collision: dict) -> bool:
    return not str(collision.get("rule", "")).startswith("learned") and collision.get("confidence", 1.0) >= PLAN_MIN_CONFIDENCE


def _short(entity_id: str) -> str:
    return entity_id.rsplit(":", 1)[-1]


def extract_plan_lines(narrative: str) -> list[str]:
    return format_plan(plan_steps_from_graph(extract_graph(narrative)))


def plan_lines_from_external_graph(graph: dict) -> list[str]:
    """Plan lines from a graph made elsewhere (e.g. an LLM run of the original tool), as is.

    A graph that carries `plan_lines` is taken verbatim; otherwise its factor/cause events and
    CAUSES edges become steps, keeping their free-text labels.
    """
    lines = graph.get("plan_lines")
    if isinstance(lines, str):
        lines = [line for line in lines.splitlines() if line.strip()]
    if lines:
        return [str(line).strip() for line in lines if str(line).strip()]
    events = {event.get("id"): event for event in graph.get("events", []) if isinstance(event, dict)}
    steps = []
    for rel in graph.get("relationships", []):
        if str(rel.get("type", "")).upper() != "CAUSES":
            continue
        source, target = events.get(rel.get("source")), events.get(rel.get("target"))
        if source is None or target is None:
            continue
        actors = tuple(_short(e) for e in (source.get("actor"), target.get("target")) if e)
        steps.append(PlanStep(_event_text(source), _event_text(target), actors if source.get("actor") else ()))
    return format_plan(steps)


def _event_text(event: dict) -> str:
    for field in ("label", "text", "description", "key", "type"):
        if event.get(field):
            return " ".join(str(event[field]).split())
    return GENERIC_EFFECT


def read_graphs_file(path: str | Path) -> dict[str, dict]:
    """`--graphs_file` JSONL (one crash graph per line) keyed by Crash_ID as a string.

    Every consumer of a graph (plans, realized summaries, claim checks, the report) trusts its
    shape, so a line that is not one graph of that shape is a UserError naming the file, the line
    and the field, as a line of broken JSON always was: lines are read bounded (data/limits.py)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"graphs file {path} does not exist; pass a JSONL file of crash graphs (one per line)")
    graphs: dict[str, dict] = {}
    with path.open(encoding="utf-8-sig", errors=DECODE_ERRORS) as handle:
        for line_number, line, whole in bounded_lines(handle):
            where = f"{path}, line {line_number}"
            if not whole:
                raise UserError(f"{path}, {too_long_detail(line_number)}: not a crash graph")
            if not line.strip():
                continue
            graph = _graph_of_line(line, where)
            crash_id = graph.get("Crash_ID", graph.get("crash_id"))
            if crash_id is None or str(crash_id).strip() == "":
                raise UserError(f"{where}: crash graph has no Crash_ID; each line needs a \"Crash_ID\" field")
            graphs[str(crash_id).strip()] = graph
    return graphs


def _graph_of_line(line: str, where: str) -> dict:
    try:
        graph = json.loads(line)
    except (ValueError, RecursionError) as error:  # RecursionError: [[[[... nested past the parser
        raise UserError(f"{where}: not valid JSON ({json_error_text(error)}); "
                        "each line must be one crash graph object") from None
    if not isinstance(graph, dict):
        raise UserError(f"{where}: a JSON {type(graph).__name__}, not a crash graph object")
    problem = json_problem(graph) or graph_shape_problem(graph)
    if problem:
        raise UserError(f"{where}: {problem}")
    return graph


_GRAPH_LISTS = ("entities", "events", "relationships")
_TEXT_FIELDS = ("id", "type", "key", "label", "text", "description", "actor", "target", "source", "at_fault", "rule")


def graph_shape_problem(graph: dict) -> str | None:
    """What in a supplied graph is not the shape the module docstring shows, or None."""
    for part in _GRAPH_LISTS:
        items = graph.get(part, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return f"\"{part}\" must be a list of objects"
        for index, item in enumerate(items):
            problem = _item_problem(item, needs_id=part != "relationships")
            if problem:
                return f"{part}[{index}].{problem}"
    lines = graph.get("plan_lines")
    if lines is not None and not isinstance(lines, str) and not (
            isinstance(lines, list) and all(isinstance(line, str) for line in lines)):
        return "\"plan_lines\" must be a list of text lines"
    if not isinstance(graph.get("crash", {}), dict):
        return "\"crash\" must be an object"
    return None


def _item_problem(item: dict, needs_id: bool) -> str | None:
    if needs_id and not isinstance(item.get("id"), str):
        return "id must be text (entities and events are referred to by id)"
    for name in _TEXT_FIELDS:
        if item.get(name) is not None and not isinstance(item[name], str):
            return f"{name} must be text or null"
    confidence = item.get("confidence", 0.0)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        return "confidence must be a number"
    span = item.get("evidence_span")
    if span is not None and not (isinstance(span, list) and len(span) == 2
                                 and all(isinstance(n, int) and not isinstance(n, bool) for n in span)):
        return "evidence_span must be [start, end] character offsets"
    return None
