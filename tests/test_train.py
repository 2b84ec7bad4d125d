"""`train`: seq2seq fine-tuning with tiny offline models (BART, T5, Pegasus) on a few dozen rows."""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, captured_log, run_cli
from crashtransformer.core.config import TrainConfig, resolve_config
from crashtransformer.core.errors import UserError
from crashtransformer.data.records import CrashRecord

ACTIONS = [  # (narrative verb, plan line, summary verb)
    ("failed to control speed and struck", "1) failed to control speed -> rear-end collision", "rear-ended"),
    ("failed to yield the right of way to", "1) failed to yield right of way -> angle collision", "failed to yield to"),
    ("changed lanes unsafely into", "1) unsafe lane change -> sideswipe", "sideswiped"),
]
PLACES = ["on Main St", "at Oak Ave and 5th St", "on IH 35 northbound", "in a parking lot"]
TINY_RUN = ["--num_beams", "1", "--batch_size", "4", "--learning_rate", "3e-3", "--warmup_steps", "2",
            "--logging_steps", "2", "--no_model_metrics"]


def _rows(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        verb, plan, summary_verb = rng.choice(ACTIONS)
        place = rng.choice(PLACES)
        rows.append({"Narrative": f"Unit 1 {verb} Unit 2 {place}. Driver {index} was not injured.",
                     "Summary": f"Unit 1 {summary_verb} Unit 2 {place}.",
                     "plan_lines": [plan], "Crash_ID": f"C{1000 + index}"})
    return rows


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["Narrative", "Summary", "plan_lines", "Crash_ID"])
        writer.writeheader()
        for row in _rows(40):
            writer.writerow({**row, "plan_lines": str(row["plan_lines"])})
    return path


@pytest.fixture(scope="module")
def train_jsonl(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    path.write_text("".join(json.dumps({"narrative": r["Narrative"], "summary": r["Summary"], "plan_lines": r["plan_lines"],
                                        "metadata": {"crash_id": r["Crash_ID"]}}) + "\n" for r in _rows(30, seed=3)),
                    encoding="utf-8")
    return path


def _config(**values) -> TrainConfig:
    return resolve_config(TrainConfig, None, values)


# ----------------------------------------------------------------------------- units


def test_split_is_seeded_and_keeps_identical_narratives_on_one_side():
    from crashtransformer.train.common import split_validation

    records = [CrashRecord(str(i), f"narrative {i % 30}", "s") for i in range(60)]  # each narrative twice
    train_a, val_a = split_validation(records, 0.2, seed=1)
    train_b, val_b = split_validation(records, 0.2, seed=1)
    _, val_c = split_validation(records, 0.2, seed=2)
    assert [r.crash_id for r in val_a] == [r.crash_id for r in val_b]
    assert [r.crash_id for r in val_a] != [r.crash_id for r in val_c]
    assert len(train_a) + len(val_a) == 60 and len(val_a) == 12
    assert not {r.narrative for r in train_a} & {r.narrative for r in val_a}
    with pytest.raises(UserError):
        split_validation(records[:1], 0.5, seed=1)


def test_planned_steps_and_warmup_cap():
    from crashtransformer.train.common import capped_warmup, planned_optimizer_steps

    assert planned_optimizer_steps(36, 4, 1, 1, 3, -1) == 27
    assert planned_optimizer_steps(36, 4, 2, 2, 2, -1) == 6  # 5 batches per process -> 3 steps per epoch
    assert planned_optimizer_steps(36, 4, 1, 1, 3, 10) == 10
    with captured_log() as records:
        assert capped_warmup(500, 27) == 2
    assert any("--warmup_steps 500" in r.getMessage() for r in records)
    assert capped_warmup(5, 27) == 5


def test_precision_rules():
    from crashtransformer.train.common import resolve_precision

    for family in ("t5", "pegasus"):
        with pytest.raises(UserError, match="--bf16"):
            resolve_precision(True, False, family, cuda=True)
    with pytest.raises(UserError, match="exclude"):
        resolve_precision(True, True, "bart", cuda=True)
    with captured_log() as records:
        assert resolve_precision(False, True, "t5", cuda=False) == (False, False)
    assert any("fp32" in r.getMessage() and r.levelno == logging.WARNING for r in records)
    assert resolve_precision(True, False, "bart", cuda=True) == (True, False)
    with pytest.raises(UserError, match="bf16"):
        resolve_precision(False, True, "bart", cuda=True, bf16_supported=False)


def test_non_finite_loss_callback_names_step_and_remedy():
    from types import SimpleNamespace

    from crashtransformer.train.callbacks import NonFiniteLossCallback

    state = SimpleNamespace(global_step=12, epoch=0.5)
    args = SimpleNamespace(learning_rate=1e-3)
    NonFiniteLossCallback().on_log(args, state, None, logs={"loss": 2.0})
    with pytest.raises(UserError, match=r"loss became nan at step 12.*--learning_rate"):
        NonFiniteLossCallback().on_log(args, state, None, logs={"loss": math.nan})


def test_each_evaluation_flags_a_model_that_writes_one_summary_for_every_crash(tiny_bart):
    """gen_distinct, logged at every evaluation, is the collapse check: 0 when every generated
    summary is the same sentence, 1 when all differ (ROUGE alone does not show a collapse)."""
    from types import SimpleNamespace

    from crashtransformer.models.loading import load_tokenizer
    from crashtransformer.train.seq2seq import make_compute_metrics

    tokenizer = load_tokenizer(str(tiny_bart))
    references = ["Unit 1 rear-ended Unit 2.", "Unit 2 turned left into Unit 1.", "Unit 1 ran off the road."]
    collapsed = tokenizer(["Unit 1 struck Unit 2."] * 3, padding=True)["input_ids"]
    varied = tokenizer(references, padding=True)["input_ids"]
    compute = make_compute_metrics(tokenizer, references)
    assert compute(SimpleNamespace(predictions=collapsed))["gen_distinct"] == 0.0
    figures = compute(SimpleNamespace(predictions=varied))
    assert figures["gen_distinct"] == 1.0 and figures["rougeL_f1"] > 0.9


def test_collapse_rule_flags_one_sentence_for_most_crashes_not_repeats_the_data_has():
    from crashtransformer.train.callbacks import collapse_figures

    varied = [f"Unit {i} struck a pole on road {i}." for i in range(10)]
    one_sentence = collapse_figures(["Unit 1 struck Unit 2."] * 6 + varied[:4], varied)
    assert one_sentence["collapsed"] and one_sentence["top_prediction_share"] == 0.6
    assert one_sentence["distinct_predictions"] == 5 and one_sentence["top_prediction"] == "Unit 1 struck Unit 2."
    assert not collapse_figures(varied, varied)["collapsed"]
    in_pairs = [varied[i // 2] for i in range(10)]  # gen_distinct 0, yet five different summaries
    assert not collapse_figures(in_pairs, varied)["collapsed"]
    assert collapse_figures([" unit 1 STRUCK unit 2. "] * 3 + ["Unit 1  struck Unit 2."] * 2, varied[:5])["collapsed"]
    assert not collapse_figures(["Unit 1 struck Unit 2."] * 4, varied[:4])["collapsed"]  # too few rows to tell
    assert not collapse_figures(["No crash."] * 10, ["No crash."] * 6 + varied[:4])["collapsed"]  # the data says so


def test_a_collapsed_run_says_so_on_the_console_and_in_its_results(tiny_bart, train_csv, tmp_path):
    """Two steps of a random tiny BART write one sentence for every crash: warned at the evaluation and at
    the end, with what to do, and recorded in evaluation_results.json."""
    out = tmp_path / "run"
    result = run_cli("train", "--training_data", str(train_csv), "--model_name", str(tiny_bart), "--output_dir", str(out),
                     "--max_steps", "2", "--eval_strategy", "steps", "--eval_steps", "2", "--validation_split", "0.25",
                     "--report_to", "none", *TINY_RUN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line and "COLLAPSED" in line]
    assert len(warnings) == 2 and "at step 2" in warnings[0]
    assert all("--num_epochs" in w and "--learning_rate" in w and "crashtransformer-default" in w for w in warnings)
    results = json.loads((out / "evaluation_results.json").read_text())
    assert results["collapse"]["collapsed"] and results["collapse"]["rows"] == 10
    assert results["collapse"]["top_prediction_share"] >= 0.5
    assert results["per_evaluation"][0]["gen_collapsed"] == 1.0


def test_plots_from_log_history(tmp_path):
    from crashtransformer.train.plots import plot_training_curves

    history = [{"step": s, "loss": 3 - s / 10, "learning_rate": 1e-3 * s / 10, "grad_norm": 1.0} for s in range(1, 11)]
    history += [{"step": 5, "eval_loss": 2.5, "eval_rougeL_f1": 0.2}, {"step": 10, "eval_loss": 2.0, "eval_rougeL_f1": 0.3}]
    written = plot_training_curves(history, tmp_path)
    assert sorted(p.name for p in written) == ["learning_rate.png", "loss.png", "validation_rouge.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)


# ----------------------------------------------------------------------------- end to end


def test_bart_training_writes_the_seed_layout(tiny_bart, train_csv, tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--training_data", str(train_csv), "--model_name", str(tiny_bart), "--output_dir", str(out),
                     "--num_epochs", "2", *[a for a in TINY_RUN if a != "--no_model_metrics"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
        assert (out / "final_model" / name).is_file(), name
    assert list((out / "logs").glob("events.out.tfevents.*"))
    assert (out / "training_args.bin").is_file() and list(out.glob("checkpoint-*"))
    assert {p.name for p in (out / "plots").iterdir()} >= {"loss.png", "learning_rate.png", "validation_rouge.png"}
    config = json.loads((out / "training_config.json").read_text())
    assert config["warmup_steps"] == 2 and config["model_name"] == str(tiny_bart)
    results = json.loads((out / "evaluation_results.json").read_text())
    assert results["data"]["train_rows"] == 36 and results["data"]["validation_rows"] == 4
    assert results["run"]["optimizer_steps"] == 18 and len(results["per_evaluation"]) == 2
    assert all("gen_distinct" in row for row in results["per_evaluation"])  # the collapse check, logged per epoch
    assert {"rougeL_f1", "bleu", "bertscore_f1", "plan_coverage"} <= set(results["metrics"])
    assert results["run"]["train_samples_per_second"] > 0 and results["run"]["peak_memory"]["peak_rss_mb"] > 0
    assert results["generation"]["num_beams"] == 1
    log_text = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert "grad_norm" in log_text and "evaluation at step 9" in log_text


def test_validation_predictions_belong_to_their_rows(tiny_bart, train_csv, tmp_path):
    """Length-grouped training must not shuffle evaluation: regenerate each validation row alone."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from crashtransformer.plan.prompt import build_model_input
    from crashtransformer.data.records import read_training_file
    from crashtransformer.train.command import train

    out = train(_config(training_data=str(train_csv), model_name=str(tiny_bart), output_dir=str(tmp_path / "run"),
                        num_epochs=1, num_beams=1, batch_size=4, learning_rate=3e-3, warmup_steps=2,
                        no_model_metrics=True, report_to="none", validation_split=0.25))
    by_id = {r.crash_id: r for r in read_training_file(train_csv)}
    rows = [json.loads(line) for line in (out / "validation_predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 10
    model = AutoModelForSeq2SeqLM.from_pretrained(out / "final_model").eval()
    tokenizer = AutoTokenizer.from_pretrained(out / "final_model")
    for row in rows:
        record = by_id[row["Crash_ID"]]
        assert row["reference_summary"] == record.summary
        ids = build_model_input(record.narrative, record.plan_lines, tokenizer, "bart", 512).input_ids
        with torch.no_grad():
            generated = model.generate(torch.tensor([ids]), num_beams=1, max_new_tokens=128)
        assert tokenizer.decode(generated[0], skip_special_tokens=True).strip() == row["prediction"]


@pytest.mark.parametrize("arch", ["t5", "pegasus"])
def test_t5_and_pegasus_train_from_jsonl_and_fall_back_to_fp32(arch, request, train_jsonl, tmp_path):
    from crashtransformer.train.command import train

    model = request.getfixturevalue(f"tiny_{arch}")
    with captured_log() as records:
        out = train(_config(training_data=str(train_jsonl), model_name=str(model), output_dir=str(tmp_path / arch),
                            num_epochs=1, num_beams=1, batch_size=4, learning_rate=3e-3, warmup_steps=2,
                            no_model_metrics=True, bf16=True, max_eval_samples=2))
    assert any("needs a CUDA GPU" in r.getMessage() for r in records)
    results = json.loads((out / "evaluation_results.json").read_text())
    assert results["model_type"] == arch and results["run"]["precision"] == "fp32"
    assert results["data"]["per_epoch_validation_rows"] == 2 and results["data"]["validation_rows"] == 3
    assert (out / "final_model" / "model.safetensors").is_file()


def test_fp16_is_refused_for_t5(tiny_t5, train_csv, tmp_path):
    result = run_cli("--log_level", "ERROR", "train", "--training_data", str(train_csv), "--model_name", str(tiny_t5),
                     "--output_dir", str(tmp_path / "run"), "--fp16", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--bf16" in result.stderr
    assert not (tmp_path / "run" / "final_model").exists()


def test_nan_loss_stops_with_a_clear_message(tiny_bart, train_csv, tmp_path):
    from crashtransformer.train.command import train

    with pytest.raises(UserError, match=r"loss became (nan|inf) at step \d+"):
        train(_config(training_data=str(train_csv), model_name=str(tiny_bart), output_dir=str(tmp_path / "run"),
                      num_epochs=2, batch_size=4, learning_rate=1e4, warmup_steps=0, logging_steps=1,
                      report_to="tensorboard", num_beams=1))
    assert not (tmp_path / "run").exists()  # it had TensorBoard events of the failed steps only, no checkpoint


def test_offline_hub_id_is_one_line_exit_2_offering_the_shipped_model(train_csv, tmp_path):
    result = run_cli("--log_level", "ERROR", "train", "--training_data", str(train_csv), "--model_name", "facebook/bart-base",
                     cwd=tmp_path, env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "facebook/bart-base" in result.stderr
    assert "the shipped default summarization model" in result.stderr
    assert str(REPO / "fine_tuned_models" / "crashtransformer-default") in result.stderr
    assert not (tmp_path / "fine_tuned_models").exists()  # the default fine_tuned_models/bart-base, made and removed


def test_failed_train_removes_the_directory_it_made_never_one_that_held_files(tiny_bart, tmp_path):
    missing = str(tmp_path / "no-such-data.csv")
    nested = run_cli("train", "--training_data", missing, "--model_name", str(tiny_bart),
                     "--output_dir", str(tmp_path / "new" / "deeper" / "run"), cwd=tmp_path)
    assert nested.returncode == 2 and "no-such-data.csv" in nested.stderr
    assert not (tmp_path / "new").exists() and f"removed {tmp_path / 'new'}" in nested.stderr
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "notes.txt").write_text("mine")
    kept = run_cli("train", "--training_data", missing, "--model_name", str(tiny_bart),
                   "--output_dir", str(tmp_path / "kept"), cwd=tmp_path)
    assert kept.returncode == 2 and (tmp_path / "kept" / "notes.txt").read_text() == "mine"
    assert "removed" not in kept.stderr


def test_output_dir_of_an_earlier_run_is_not_overwritten(tmp_path, train_csv):
    from crashtransformer.train.common import prepare_output_dir

    (tmp_path / "run" / "checkpoint-3").mkdir(parents=True)
    with pytest.raises(UserError, match="resume_from_checkpoint auto"):
        prepare_output_dir(_config(training_data=str(train_csv), output_dir=str(tmp_path / "run")))
    out, checkpoint = prepare_output_dir(_config(output_dir=str(tmp_path / "run"), overwrite_output_dir=True))
    assert checkpoint is None and out == tmp_path / "run"


def test_resume_auto_with_only_cut_short_checkpoints_starts_over_but_never_over_a_final_model(tmp_path, train_csv):
    from crashtransformer.train.common import prepare_output_dir

    run = tmp_path / "run"
    (run / "checkpoint-3").mkdir(parents=True)  # no trainer_state.json: a full disk cut it
    auto = _config(training_data=str(train_csv), output_dir=str(run), resume_from_checkpoint="auto")
    assert prepare_output_dir(auto) == (run, None)
    (run / "final_model").mkdir()  # a finished run whose checkpoints are gone: not retrained over
    with pytest.raises(UserError, match="already holds a training run"):
        prepare_output_dir(auto)


def test_killed_run_resumes_to_the_same_number_of_steps(tiny_bart, train_csv, tmp_path):
    """SIGKILL right after the first checkpoint, then --resume_from_checkpoint auto."""
    out = tmp_path / "run"
    args = [sys.executable, str(REPO / "crashtransformer.py"), "train", "--training_data", str(train_csv),
            "--model_name", str(tiny_bart), "--output_dir", str(out), "--num_epochs", "6",
            "--early_stopping_patience", "0", "--report_to", "none", *TINY_RUN]
    process = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(out.glob("checkpoint-*/trainer_state.json")) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "final_model").exists(), "the run finished before it could be killed"
    (out / "checkpoint-999").mkdir()  # as if the kill had cut a checkpoint half-way: never resumed from
    last_checkpoint = max((p for p in out.glob("checkpoint-*") if (p / "trainer_state.json").is_file()),
                          key=lambda p: int(p.name.split("-")[1]))

    refused = run_cli(*args[2:], cwd=tmp_path)  # same directory without resume: refused, nothing mixed
    assert refused.returncode == 2 and "resume_from_checkpoint auto" in refused.stderr
    resumed = run_cli(*args[2:], "--resume_from_checkpoint", "auto", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {last_checkpoint}" in resumed.stderr
    results = json.loads((out / "evaluation_results.json").read_text())
    assert results["run"]["optimizer_steps"] == 6 * math.ceil(36 / 4) == results["run"]["planned_steps"]
    assert [e["epoch"] for e in results["per_evaluation"]] == [1, 2, 3, 4, 5, 6]


def test_two_processes_train_data_parallel(tiny_bart, train_csv, tmp_path):
    """`accelerate launch` with two CPU processes (gloo): one run, one set of outputs."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               str(REPO / "crashtransformer.py"), "train", "--training_data", str(train_csv),
               "--model_name", str(tiny_bart), "--output_dir", str(out), "--num_epochs", "2", *TINY_RUN]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "evaluation_results.json").read_text())
    assert results["run"]["world_size"] == 2
    assert results["run"]["optimizer_steps"] == 2 * math.ceil(36 / (4 * 2))
    assert len(list((out / "logs").glob("events.out.tfevents.*"))) == 1  # only the main process writes
    assert len((out / "validation_predictions.jsonl").read_text().splitlines()) == 4
