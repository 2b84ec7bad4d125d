"""The one plan policy: which plan a crash is conditioned on, and the model input built from it.

`train`, `evaluate --model` and `run` all go through `ModelInputs`, so one row gives one
byte-identical model input wherever it is read (tests/test_prompt.py checks it through the
training encoder and run's processor). The plan of a crash is, first found wins:

1. the row's own `plan_lines` (a training file from prepare-data, or an export that has them);
2. the plan of a graph supplied for its Crash_ID (`run --graphs_file`);
3. the plan of the offline graph extracted from its narrative (plan.graph); empty when the
   narrative states no cause: a plan line without a stated cause would be invented.

With `no_plan` (a model trained on narratives alone) the model input carries no plan, but the
plan is still worked out: `run` reports it and the reranker scores candidates against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from crashtransformer.plan.catalogue import format_plan
from crashtransformer.plan.graph import extract_graph, plan_lines_from_external_graph, plan_steps_from_graph
from crashtransformer.plan.prompt import ModelInput, build_model_input, model_family

PLAN_FROM_ROW, PLAN_FROM_GRAPHS_FILE, PLAN_EXTRACTED = "row", "graphs_file", "extracted"


@dataclass(frozen=True)
class PlannedCrash:
    graph: dict  # the crash graph: supplied, or extracted offline
    plan_lines: list[str]  # the plan the crash is conditioned on (and reranked against)
    plan_source: str  # PLAN_FROM_ROW, PLAN_FROM_GRAPHS_FILE or PLAN_EXTRACTED


def plan_crash(record, graphs: dict[str, dict] | None = None, want_graph: bool = True) -> PlannedCrash:
    """The graph and plan of one data.records.CrashRecord (see the module docstring).

    want_graph=False (training) skips the graph of a row that carries its own plan: same plan."""
    if record.plan_lines and not want_graph:
        return PlannedCrash({}, list(record.plan_lines), PLAN_FROM_ROW)
    supplied = graphs.get(record.crash_id) if graphs is not None else None
    if supplied is not None:
        graph, plan, source = supplied, plan_lines_from_external_graph(supplied), PLAN_FROM_GRAPHS_FILE
    else:
        crash = {"raw_narrative": record.narrative, **record.metadata}
        graph = extract_graph(record.narrative, record.crash_id, crash)
        plan, source = format_plan(plan_steps_from_graph(graph)), PLAN_EXTRACTED
    if record.plan_lines:
        return PlannedCrash(graph, list(record.plan_lines), PLAN_FROM_ROW)
    return PlannedCrash(graph, plan, source)


class ModelInputs:
    """Model inputs for crash records: one tokenizer, model family, length limit and plan policy."""

    def __init__(self, tokenizer, family_or_model, max_length: int, no_plan: bool = False,
                 graphs: dict[str, dict] | None = None, want_graph: bool = True):
        self.tokenizer, self.max_length, self.no_plan, self.graphs = tokenizer, max_length, no_plan, graphs
        self.want_graph = want_graph
        self.family = family_or_model if isinstance(family_or_model, str) else model_family(family_or_model)

    def plan(self, record) -> PlannedCrash:
        return plan_crash(record, self.graphs, self.want_graph)

    def build(self, record, planned: PlannedCrash | None = None) -> ModelInput:
        planned = planned or self.plan(record)
        return build_model_input(record.narrative, planned.plan_lines, self.tokenizer, self.family,
                                 self.max_length, self.no_plan)

    def build_all(self, records: Sequence) -> tuple[list[PlannedCrash], list[ModelInput]]:
        planned = [self.plan(record) for record in records]
        return planned, [self.build(record, plan) for record, plan in zip(records, planned)]
