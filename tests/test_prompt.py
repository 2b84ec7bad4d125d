"""The one prompt builder (crashtransformer/prompt.py): prefix, plan first, only the narrative cut."""

from __future__ import annotations

import pytest

from crashtransformer.prompt import NARRATIVE_MARK, PLAN_MARK, T5_PREFIX, build_model_input, prompt_prefix
from crashtransformer.records import CrashRecord

PLAN = ["1) failed to control speed -> rear-end collision | actors=U1 -> U2",
        "2) driver inattention -> rear-end collision | actors=U1 -> U2"]
LONG_NARRATIVE = " ".join(["Unit 1 was traveling north on Main St behind Unit 2 and struck Unit 2."] * 40)


@pytest.fixture(scope="module")
def t5_tokenizer(tiny_t5):
    from crashtransformer.modeling import load_tokenizer

    return load_tokenizer(str(tiny_t5))


@pytest.fixture(scope="module")
def bart_tokenizer(tiny_bart):
    from crashtransformer.modeling import load_tokenizer

    return load_tokenizer(str(tiny_bart))


def test_t5_gets_its_prefix_and_others_do_not(t5_tokenizer, bart_tokenizer):
    t5 = build_model_input("Unit 1 struck Unit 2.", PLAN, t5_tokenizer, "t5", 128)
    bart = build_model_input("Unit 1 struck Unit 2.", PLAN, bart_tokenizer, "bart", 128)
    assert t5.text.startswith(T5_PREFIX + PLAN_MARK)
    assert bart.text.startswith(PLAN_MARK) and T5_PREFIX not in bart.text


def test_plan_comes_first_and_narrative_follows(bart_tokenizer):
    built = build_model_input("Unit 1 struck Unit 2.", PLAN, bart_tokenizer, "bart", 128)
    assert built.text == f"{PLAN_MARK} {PLAN[0]} ; {PLAN[1]} {NARRATIVE_MARK} Unit 1 struck Unit 2."
    assert not built.truncated


@pytest.mark.parametrize("family", ["t5", "bart"])
def test_long_narrative_is_cut_but_the_plan_never_is(family, t5_tokenizer, bart_tokenizer):
    tokenizer = t5_tokenizer if family == "t5" else bart_tokenizer
    prefix = prompt_prefix(PLAN, family)
    limit = len(tokenizer(prefix)["input_ids"]) + 40  # room for the plan and a bit of narrative
    built = build_model_input(LONG_NARRATIVE, PLAN, tokenizer, family, limit)
    assert built.truncated and len(built.input_ids) <= limit
    assert built.text.startswith(prefix)  # every plan line whole
    kept = built.text[len(prefix):]
    assert kept and LONG_NARRATIVE.startswith(kept)  # a prefix of the narrative, nothing else touched
    assert tokenizer(built.text)["input_ids"] == built.input_ids


def test_plan_longer_than_max_length_is_kept_whole(bart_tokenizer):
    long_plan = [f"{n}) failed to control speed -> rear-end collision" for n in range(1, 30)]
    built = build_model_input("Unit 1 struck Unit 2.", long_plan, bart_tokenizer, "bart", 32)
    assert all(line in built.text for line in long_plan) and built.truncated


def test_no_plan_gives_the_narrative_alone(bart_tokenizer):
    assert build_model_input("Unit 1 struck Unit 2.", PLAN, bart_tokenizer, "bart", 64, no_plan=True).text \
        == "Unit 1 struck Unit 2."
    assert build_model_input("Unit 1 struck Unit 2.", [], bart_tokenizer, "bart", 64).text == "Unit 1 struck Unit 2."


@pytest.mark.parametrize("family", ["t5", "bart"])
def test_training_and_inference_build_identical_inputs(family, t5_tokenizer, bart_tokenizer):
    """The training path (training_seq2seq.encode_records) and the run path (build_model_input on
    the same row, as run_crash and evaluation_generate call it) give the same token ids."""
    pytest.importorskip("datasets")
    from crashtransformer.training_seq2seq import encode_records

    tokenizer = t5_tokenizer if family == "t5" else bart_tokenizer
    records = [CrashRecord("1", LONG_NARRATIVE, "Unit 1 rear-ended Unit 2.", PLAN),
               CrashRecord("2", "Unit  1 backed into\nUnit 2.", "Unit 1 backed into Unit 2.", [])]
    limit = len(tokenizer(prompt_prefix(PLAN, family))["input_ids"]) + 40
    dataset, truncated = encode_records(records, tokenizer, family, limit, 32, no_plan=False)
    at_inference = [build_model_input(r.narrative, r.plan_lines, tokenizer, family, limit).input_ids
                    for r in records]
    assert dataset["input_ids"] == at_inference
    assert truncated == 1


def test_inputs_are_capped_at_the_models_position_table():
    from types import SimpleNamespace

    from crashtransformer.modeling import input_limit

    assert input_limit(SimpleNamespace(max_position_embeddings=256), 512) == 256  # BART/Pegasus: a learned table
    assert input_limit(SimpleNamespace(max_position_embeddings=1024), 512) == 512
    assert input_limit(SimpleNamespace(), 2048) == 2048  # T5: relative positions, no table
    assert input_limit(SimpleNamespace(max_position_embeddings=1024), 600, SimpleNamespace(model_max_length=512)) == 512
