"""The one prompt builder (crashtransformer/plan/prompt.py): prefix, plan first, only the narrative cut."""

from __future__ import annotations

import pytest

from crashtransformer.plan.prompt import NARRATIVE_MARK, PLAN_MARK, T5_PREFIX, build_model_input, prompt_prefix

PLAN = ["1) failed to control speed -> rear-end collision | actors=U1 -> U2",
        "2) driver inattention -> rear-end collision | actors=U1 -> U2"]
LONG_NARRATIVE = " ".join(["Unit 1 was traveling north on Main St behind Unit 2 and struck Unit 2."] * 40)


@pytest.fixture(scope="module")
def t5_tokenizer(tiny_t5):
    from crashtransformer.models.loading import load_tokenizer

    return load_tokenizer(str(tiny_t5))


@pytest.fixture(scope="module")
def bart_tokenizer(tiny_bart):
    from crashtransformer.models.loading import load_tokenizer

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


def _rows_file(path) -> str:
    """A raw export as a user would hand it to both `train` and `run`: one row with its own plan,
    one without (the plan policy extracts it), one whose narrative needs cleaning (mojibake,
    doubled spaces, a line break) and one long enough to be cut."""
    import csv

    rows = [("1", "Unit 1 failed to control speed and struck Unit 2 in the rear.", "Unit 1 rear-ended Unit 2.",
             '["1) failed to control speed -> rear-end collision | actors=U1 -> U2"]'),
            ("2", "Unit 2 was stopped at a red light. Unit 1 failed to control speed and struck the back of Unit 2.",
             "Unit 1 struck the stopped Unit 2.", ""),
            ("3", "Unit  1 backed into\nUnit 2 in the driverâ€™s lot.", "Unit 1 backed into Unit 2.", ""),
            ("4", LONG_NARRATIVE, "Unit 1 struck Unit 2.", "")]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Crash_ID", "Narrative", "Summary", "plan_lines"])
        writer.writerows(rows)
    return str(path)


@pytest.mark.parametrize("family", ["t5", "bart"])
def test_train_and_run_feed_the_model_byte_identical_inputs(family, tiny_t5, tiny_bart, tmp_path):
    """Through the real entry points: train's reader and encoder, and run's reader and processor."""
    pytest.importorskip("datasets")
    from crashtransformer.core.config import RunConfig, TrainConfig, build_config
    from crashtransformer.data.records import read_training_file
    from crashtransformer.models.loading import load_model, load_tokenizer
    from crashtransformer.run.crash import CrashProcessor
    from crashtransformer.run.inputs import InputFile, record_reader
    from crashtransformer.train.seq2seq import encode_records, training_inputs

    model_dir = str(tiny_t5 if family == "t5" else tiny_bart)
    data = _rows_file(tmp_path / "crashes.csv")

    train_cfg = build_config(TrainConfig, {"training_data": data, "model_name": model_dir, "max_length": 400})
    tokenizer, model = load_tokenizer(model_dir), load_model(model_dir)
    training_records = read_training_file(data)
    inputs = training_inputs(train_cfg, tokenizer, model)
    dataset, truncated = encode_records(training_records, inputs, 32)

    run_cfg = build_config(RunConfig, {"csv": [data], "model": model_dir, "max_length": 400, "backend": "torch",
                                       "num_samples": 0})
    run_records = list(record_reader(InputFile(tmp_path / "crashes.csv", "csv"), run_cfg))
    processor = CrashProcessor.from_config(run_cfg, model_dir)
    at_run = [i.input_ids for i in processor.summarizer.inputs.build_all(run_records)[1]]  # what process() feeds

    assert dataset["input_ids"] == at_run
    assert truncated == 1
    planned = inputs.plan(training_records[1])  # a row without plan_lines gets the extracted plan, as in run
    assert planned.plan_source == "extracted" and "failed to control speed" in planned.plan_lines[0]
    assert len(dataset["input_ids"][1]) > len(tokenizer(training_records[1].narrative)["input_ids"])
    assert [r.narrative for r in training_records] == [r.narrative for r in run_records]  # one cleaning policy
    assert training_records[2].narrative == "Unit 1 backed into\nUnit 2 in the driver's lot."  # mojibake repaired, the line kept


def test_inputs_are_capped_at_the_models_position_table():
    from types import SimpleNamespace

    from crashtransformer.models.loading import input_limit

    assert input_limit(SimpleNamespace(max_position_embeddings=256), 512) == 256  # BART/Pegasus: a learned table
    assert input_limit(SimpleNamespace(max_position_embeddings=1024), 512) == 512
    assert input_limit(SimpleNamespace(), 2048) == 2048  # T5: relative positions, no table
    assert input_limit(SimpleNamespace(max_position_embeddings=1024), 600, SimpleNamespace(model_max_length=512)) == 512


def test_the_default_input_length_is_the_models_own_limit_at_most_512():
    from types import SimpleNamespace

    from crashtransformer.models.loading import input_limit

    assert input_limit(SimpleNamespace(max_position_embeddings=256), None) == 256  # the shipped model: no notice
    assert input_limit(SimpleNamespace(max_position_embeddings=1024), None) == 512  # BART-base
    assert input_limit(SimpleNamespace(), None) == 512  # T5: no position table


def test_a_scan_reaches_the_model_mended_on_one_line_and_in_lower_case(bart_tokenizer):
    # the models learn from typed, mostly lower-case narratives: a scan's capitals and broken words would be new to them
    built = build_model_input("UNIT 1 WAS TRAVELING NORTH AND\nAILED TO CONTROL SPEED", [], bart_tokenizer, "bart", 128)
    assert built.text.endswith("unit 1 was traveling north and failed to control speed")
    mixed = build_model_input("Unit 1 struck UNIT 2 on FM 1960.", [], bart_tokenizer, "bart", 128)
    assert mixed.text.endswith("Unit 1 struck UNIT 2 on FM 1960.")  # typed text keeps its case
