"""Fine-tuning machinery every task shares: output layout, resume, precision, validation split,
callbacks and the files a run leaves behind. The task modules (seq2seq.py, classification.py,
tagging.py) build datasets and a Trainer and call into here; command.py picks the task.

Layout of a run (as the seed guide lays it out):

    <output_dir>/final_model/            model, tokenizer, generation_config.json
    <output_dir>/checkpoint-N/           the last --save_total_limit checkpoints (+ the best)
    <output_dir>/logs/events.out.tfevents.*   TensorBoard curves
    <output_dir>/plots/                  loss and learning-rate PNGs
    <output_dir>/evaluation_results.json, training_config.json, training_args.bin
    <output_dir>/training_report.html    curves, evaluations, settings (train/html.py)
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from crashtransformer.core.config import build_config, flat_config
from crashtransformer.core.errors import UserError
from crashtransformer.core.io import replace_directory, write_json_atomic
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import describe_device, peak_memory
from crashtransformer.train.device import device_arguments

# Families whose activations overflow fp16 (the loss turns to NaN): fp16 is refused for them.
FP16_UNSAFE_FAMILIES = frozenset({"t5", "mt5", "umt5", "longt5", "pegasus", "pegasus_x", "bigbird_pegasus"})

# When --warmup_steps exceeds the whole run, warm up over this fraction of it instead.
WARMUP_CAP_FRACTION = 0.1

DEFAULT_OUTPUT_ROOT = Path("fine_tuned_models")


# ----------------------------------------------------------------------------- output directory


def default_output_dir(model_name: str) -> Path:
    """fine_tuned_models/<last part of the model name>: stable, so `--resume_from_checkpoint auto` finds it."""
    return DEFAULT_OUTPUT_ROOT / Path(model_name.rstrip("/\\")).name


def output_dir_of(cfg) -> Path:
    """--output_dir, or the default for the model."""
    return Path(cfg.output_dir) if cfg.output_dir else default_output_dir(cfg.model_name)


def _holds_earlier_run(out: Path) -> bool:
    return out.is_dir() and ((out / "final_model").exists() or any(out.glob("checkpoint-*")))


def _complete(checkpoint: Path) -> bool:
    """The Trainer writes trainer_state.json last: a checkpoint without a readable one was cut by a kill."""
    try:
        json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        return True
    except (OSError, ValueError):
        return False


def last_complete_checkpoint(out: Path) -> Path | None:
    """The newest checkpoint-N in `out` that was written to the end; half-written ones are skipped."""
    numbered = [(int(p.name.split("-")[1]), p) for p in out.glob("checkpoint-*")
                if p.is_dir() and p.name.split("-")[1].isdigit()] if out.is_dir() else []
    for _, checkpoint in sorted(numbered, reverse=True):
        if _complete(checkpoint):
            return checkpoint
        log.warning("skipping %s: incomplete (the run was stopped while writing it)", checkpoint)
    return None


def resolve_checkpoint(resume: str | None, out: Path) -> str | None:
    """The checkpoint to continue from: a given directory, the latest complete one for 'auto', or None."""
    if not resume:
        return None
    if resume.lower() == "auto":
        last = last_complete_checkpoint(out)
        if last is None:
            log.warning("--resume_from_checkpoint auto: no checkpoint in %s yet; starting from the beginning", out)
        return str(last) if last else None
    path = Path(resume)
    if not _complete(path):
        raise UserError(f"--resume_from_checkpoint {resume}: not a complete checkpoint directory (no readable "
                        "trainer_state.json)")
    return str(path)


def prepare_output_dir(cfg) -> tuple[Path, str | None]:
    """The output directory and the checkpoint to resume from; refuse to mix two runs in one directory."""
    from crashtransformer.core.io import check_writable_dir

    out = output_dir_of(cfg)
    check_writable_dir(out, "--output_dir")
    checkpoint = resolve_checkpoint(cfg.resume_from_checkpoint, out)
    # auto with only cut-short checkpoints (a full disk on the first save): nothing to lose, start over
    only_cut_short = (cfg.resume_from_checkpoint or "").lower() == "auto" and not (out / "final_model").exists()
    if checkpoint is None and _holds_earlier_run(out) and not cfg.overwrite_output_dir and not only_cut_short:
        raise UserError(
            f"{out} already holds a training run; pass --resume_from_checkpoint auto to continue it, "
            "--overwrite_output_dir to start over there, or another --output_dir"
        )
    log.info("output directory: %s%s", out, f" (resuming from {checkpoint})" if checkpoint else "")
    return out, checkpoint


# ----------------------------------------------------------------------------- precision and schedule


def resolve_precision(fp16: bool, bf16: bool, family: str, cuda: bool | None = None,
                      bf16_supported: bool | None = None) -> tuple[bool, bool]:
    """(fp16, bf16) to train with: refuse what cannot work, fall back to fp32 on CPU with a warning."""
    import torch

    if fp16 and bf16:
        raise UserError("--fp16 and --bf16 exclude each other: pick one")
    if fp16 and family in FP16_UNSAFE_FAMILIES:
        raise UserError(
            f"--fp16 is refused for {family} models: their activations overflow in fp16 and the loss "
            "turns to NaN; use --bf16 (on a GPU that supports it) or train in fp32"
        )
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if (fp16 or bf16) and not cuda:
        log.warning("--%s needs a CUDA GPU and none was found: training in fp32", "fp16" if fp16 else "bf16")
        return False, False
    if bf16:
        supported = torch.cuda.is_bf16_supported() if bf16_supported is None else bf16_supported
        if not supported:
            raise UserError("--bf16: this GPU does not support bf16; use --fp16 (not for T5/Pegasus) or train in fp32")
    return fp16, bf16


def planned_optimizer_steps(train_rows: int, batch_size: int, accumulation: int, world_size: int,
                            num_epochs: float, max_steps: int) -> int:
    """Optimizer steps the Trainer will take, counted as it counts them (last partial batch kept)."""
    if max_steps > 0:
        return max_steps
    batches_per_epoch = math.ceil(train_rows / (batch_size * world_size))
    steps_per_epoch = max(math.ceil(batches_per_epoch / accumulation), 1)
    return math.ceil(num_epochs * steps_per_epoch)


def capped_warmup(warmup_steps: int, total_steps: int) -> int:
    """Warm-up longer than the run would never reach the peak rate: warm up over 10% of it instead."""
    if total_steps > 0 and warmup_steps > total_steps:
        capped = max(1, int(total_steps * WARMUP_CAP_FRACTION))
        log.warning("--warmup_steps %d is more than the whole run (%d optimizer steps): warming up over %d steps "
                    "(%d%% of the run) instead", warmup_steps, total_steps, capped, WARMUP_CAP_FRACTION * 100)
        return capped
    return warmup_steps


# ----------------------------------------------------------------------------- data


def split_validation(records: Sequence, fraction: float, seed: int,
                     key: Callable[[Any], str] = lambda r: " ".join(r.narrative.split()).lower()) -> tuple[list, list]:
    """Seeded train/validation split. Rows with the same narrative stay on one side, so the
    validation rows are never training rows in disguise."""
    groups = duplicate_groups(records, fraction, key)
    if not groups:
        return list(records), []
    keys = list(groups)
    random.Random(seed).shuffle(keys)
    wanted = max(1, round(len(records) * fraction))
    held_out: set[int] = set()
    for group in keys:
        if len(held_out) >= wanted:
            break
        held_out.update(groups[group])
    if len(held_out) >= len(records):
        raise UserError(f"too few distinct narratives ({len(groups)}) to hold out a validation split; add rows "
                        "or pass --validation_data")
    return split_by_index(records, held_out)


def duplicate_groups(rows: Sequence, fraction: float, key: Callable[[Any], str]) -> dict[str, list[int]]:
    """Row indices grouped by `key` (rows that must stay on one side of a split); empty when
    `fraction` is 0. Shared by the plain and the stratified split."""
    if not 0 <= fraction < 1:
        raise UserError(f"--validation_split {fraction}: must be at least 0 and below 1")
    groups: dict[str, list[int]] = {}
    if fraction > 0:
        for index, row in enumerate(rows):
            groups.setdefault(key(row), []).append(index)
    return groups


def split_by_index(rows: Sequence, held_out: set[int]) -> tuple[list, list]:
    """(training rows, validation rows), in their original order."""
    return [r for i, r in enumerate(rows) if i not in held_out], [r for i, r in enumerate(rows) if i in held_out]


def load_train_and_validation(cfg) -> tuple[list, list]:
    """Training and validation records: a seeded split of --training_data, or --validation_data."""
    from crashtransformer.data.records import read_training_file

    if not cfg.training_data:
        raise UserError("missing --training_data FILE (CSV or JSONL; make one with `prepare-data`)")
    records = read_training_file(cfg.training_data, cfg.data_format)
    if cfg.validation_data:
        validation = read_training_file(cfg.validation_data, cfg.data_format)
        seen = {" ".join(r.narrative.split()).lower() for r in records}
        overlap = sum(" ".join(r.narrative.split()).lower() in seen for r in validation)
        if overlap:
            log.warning("%d of %d validation rows have a narrative that is also in the training data; "
                        "validation scores will be optimistic", overlap, len(validation))
        train_rows, validation_rows = records, validation
    else:
        train_rows, validation_rows = split_validation(records, cfg.validation_split, cfg.seed)
    log.info("data: %d training rows, %d validation rows (%s)", len(train_rows), len(validation_rows),
             cfg.validation_data or f"seeded split {cfg.validation_split:g}, seed {cfg.seed}")
    if not train_rows:
        raise UserError(f"{cfg.training_data}: no training rows")
    return train_rows, validation_rows


# ----------------------------------------------------------------------------- trainer arguments


def trainer_arguments(cfg, out: Path, fp16: bool, bf16: bool, has_validation: bool, cuda: bool | None = None,
                      tf32_supported: bool | None = None) -> dict[str, Any]:
    """TrainingArguments shared by every task, from the command's config. `cuda` and
    `tf32_supported` default to what this machine has (tests pretend a GPU with them)."""
    cuda = _cuda_available() if cuda is None else cuda
    evaluate = has_validation and cfg.eval_strategy != "no"
    return dict(
        output_dir=str(out),
        num_train_epochs=cfg.num_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        auto_find_batch_size=cfg.auto_find_batch_size,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps,
        fp16=fp16,
        bf16=bf16,
        eval_strategy=cfg.eval_strategy if evaluate else "no",
        # checkpoints at the evaluation cadence (load_best_model_at_end needs both equal); every epoch without eval
        save_strategy="epoch" if cfg.eval_strategy == "no" else cfg.eval_strategy,
        eval_steps=cfg.eval_steps,
        save_steps=cfg.eval_steps,
        save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=evaluate and cfg.load_best_model_at_end,
        metric_for_best_model=cfg.metric_for_best_model if evaluate else None,
        logging_strategy="steps",
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        logging_nan_inf_filter=False,  # a NaN loss must reach the log (and stop the run), not be averaged away
        include_num_input_tokens_seen="non_padding",  # real tokens/s in the results
        report_to="none",  # TensorBoard is attached by hand so its files land in <output_dir>/logs
        disable_tqdm=not sys.stderr.isatty(),  # a bar on a terminal, log lines in cron and log files
        dataloader_pin_memory=cuda,  # pinning only helps copies to a GPU
        average_tokens_across_devices=False,  # else transformers 5 logs the loss x number of processes
        ddp_find_unused_parameters=False,  # every parameter takes part in each step; skips a graph walk
        use_cpu=not cuda,  # also makes torchrun/accelerate processes join over gloo on CPU
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        seed=cfg.seed,
        data_seed=cfg.seed,
        **device_arguments(cfg, cuda, tf32_supported),
    )


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


# ----------------------------------------------------------------------------- trainer


class OrderedEvaluationMixin:
    """Evaluation in dataset order, so prediction i belongs to validation row i.

    transformers 5 reuses the length-grouped (shuffling) sampler for evaluation whenever training
    groups by length; predictions would then be scored against the wrong references. Mixed into
    the task's Trainer class before the transformers class."""

    def _get_eval_sampler(self, eval_dataset):
        from torch.utils.data import SequentialSampler

        # distributed: None lets accelerate shard in order and drop its padding rows when gathering
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None


# ----------------------------------------------------------------------------- after training


def run_summary(trainer, train_output, started: float, precision: str) -> dict[str, Any]:
    """What a run cost and how it went, for evaluation_results.json."""
    state = trainer.state
    runtime = train_output.metrics.get("train_runtime") or 0.0
    return {
        "optimizer_steps": state.global_step,
        "planned_steps": state.max_steps,
        "epochs_run": round(state.epoch or 0.0, 3),
        "stopped_early": bool(state.max_steps and state.global_step < state.max_steps),
        "best_checkpoint": state.best_model_checkpoint,
        "best_metric": state.best_metric,
        "wall_time_s": round(time.time() - started, 2),
        "train_runtime_s": runtime,
        "train_samples_per_second": train_output.metrics.get("train_samples_per_second"),
        "train_input_tokens_per_second": round(state.num_input_tokens_seen / runtime, 1) if runtime else None,
        "peak_memory": peak_memory(),
        "device": describe_device(),
        "world_size": trainer.args.world_size,
        "precision": precision,
    }


def evaluation_history(log_history: list[dict]) -> list[dict]:
    """One entry per evaluation during training: step, epoch and the eval_ figures."""
    return [{"step": entry.get("step"), "epoch": entry.get("epoch"),
             **{k[5:]: v for k, v in entry.items() if k.startswith("eval_") and not k.endswith(("_per_second", "runtime"))}}
            for entry in log_history if "eval_loss" in entry]


def save_run_files(trainer, cfg, out: Path, results: dict[str, Any]) -> None:
    """final_model/, training_args.bin, training_config.json, plots/, evaluation_results.json and
    training_report.html."""
    import torch

    from crashtransformer.core.config import save_config
    from crashtransformer.train.html import write_training_html
    from crashtransformer.train.plots import plot_training_curves

    staged = out / "final_model.partial"  # renamed into place when whole: a full disk leaves no half model
    if trainer.is_world_process_zero():
        shutil.rmtree(staged, ignore_errors=True)  # what a failed save left
    trainer.save_model(str(staged))  # saves on the main process only
    if not trainer.is_world_process_zero():
        return
    replace_directory(staged, out / "final_model")
    torch.save(trainer.args, out / "training_args.bin")
    config_file = save_config(cfg, out, "training_config.json")
    plots = plot_training_curves(trainer.state.log_history, out / "plots")
    results["plots"] = [str(p.relative_to(out)) for p in plots]
    write_json_atomic(out / "evaluation_results.json", results)
    page = write_training_html(out, trainer.state.log_history,
                               json.loads(config_file.read_text(encoding="utf-8")), results)
    log.info("final model written to %s; results in %s; report in %s", out / "final_model",
             out / "evaluation_results.json", page)


def effective_config(cfg, **changes: Any):
    """The config with the values actually used (precision after fallback, capped warm-up)."""
    return build_config(type(cfg), {**flat_config(cfg), **changes})  # flat names: groups included
