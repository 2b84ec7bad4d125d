"""The one prompt builder: (narrative, plan lines, model family) -> model input.

`train`, `run` and `evaluate` all call `build_model_input`, so the model sees at inference
exactly what it saw in training (tests/test_prompt.py proves it). Layout:

    [summarize: ]plan: 1) failed to control speed -> rear-end collision ; 2) ... narrative: <text>

The plan comes first and is never cut; only the narrative is truncated to fit `max_length`
tokens. Rows without a plan (or with `no_plan`) get the narrative alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from crashtransformer.core.logs import log
from crashtransformer.plan.scan_repair import repair

# Families that were pre-trained with task prefixes; the prefix lives here and nowhere else.
T5_FAMILY = frozenset({"t5", "mt5", "umt5", "longt5"})
T5_PREFIX = "summarize: "
PLAN_MARK = "plan:"
NARRATIVE_MARK = "narrative:"
PLAN_SEPARATOR = " ; "


@dataclass(frozen=True)
class ModelInput:
    text: str  # the prompt as text (for backends that tokenize themselves)
    input_ids: list[int]  # the same prompt, tokenized, special tokens included
    truncated: bool  # whether the narrative was cut to fit


def model_family(model_or_config) -> str:
    """The `model_type` of a model, config or tokenizer-bearing object ('bart', 't5', ...)."""
    config = getattr(model_or_config, "config", model_or_config)
    return str(getattr(config, "model_type", "") or "")


def prompt_prefix(plan_lines: Sequence[str], family: str, no_plan: bool = False) -> str:
    """Everything before the narrative: task prefix, then the plan."""
    prefix = T5_PREFIX if family in T5_FAMILY else ""
    plan = [line.strip() for line in plan_lines if line and line.strip()] if not no_plan else []
    if plan:
        prefix += f"{PLAN_MARK} {PLAN_SEPARATOR.join(plan)} {NARRATIVE_MARK} "
    return prefix


def build_model_input(narrative: str, plan_lines: Sequence[str], tokenizer, family: str,
                      max_length: int = 512, no_plan: bool = False) -> ModelInput:
    """Tokenized prompt of at most `max_length` tokens; only the narrative is ever cut."""
    prefix = prompt_prefix(plan_lines, family, no_plan)
    narrative = " ".join(repair(narrative)[0].split())  # a scan's broken words mended, on one line
    if narrative.isupper():
        narrative = narrative.lower()  # a scan's capitals: the models learn from typed, mostly lower-case narratives
    text = prefix + narrative
    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    if len(ids) <= max_length:
        return ModelInput(text, ids, truncated=False)

    # Cut the narrative at a token boundary (offsets from the fast tokenizer), then re-check:
    # re-tokenizing the joined text can differ by a token at the seam.
    offsets = tokenizer(narrative, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    overflow = len(ids) - max_length
    keep = max(len(offsets) - overflow, 0)
    while True:
        cut = offsets[keep - 1][1] if keep > 0 else 0
        text = prefix + narrative[:cut]
        ids = tokenizer(text, add_special_tokens=True)["input_ids"]
        if len(ids) <= max_length or keep == 0:
            break
        keep -= max(1, len(ids) - max_length)
        keep = max(keep, 0)
    if len(ids) > max_length:
        log.warning("plan alone is %d tokens, over max_length %d; it is kept whole", len(ids), max_length)
    return ModelInput(text, ids, truncated=True)
