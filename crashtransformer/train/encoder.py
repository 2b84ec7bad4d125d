"""What the two encoder tasks, text classification (train/classification.py) and token
tagging (train/tagging.py), share on top of train/common.py: the best-model metric, the Trainer
(rows evaluated in order, optional class-weighted loss), one `fit` that builds and runs it,
and the parts of evaluation_results.json that do not depend on the task.

Each task keeps only what is its own: reading its data, encoding it, its metrics and its
final evaluation.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Sequence

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.train.common import (
    OrderedEvaluationMixin,
    capped_warmup,
    effective_config,
    evaluation_history,
    planned_optimizer_steps,
    run_summary,
    save_run_files,
    trainer_arguments,
)
from crashtransformer.train.callbacks import attach_callbacks


def best_model_metric(requested: str, known: Sequence[str], default: str, task: str) -> str:
    """The metric that picks the best checkpoint: the task's default when a summarization metric
    (the shared default rougeL_f1) is named, an error for a figure the task does not produce."""
    name = requested.removeprefix("eval_")
    if name.startswith("rouge"):
        log.info("best checkpoint by %s (--metric_for_best_model %s is a summarization figure)", default, requested)
        return default
    if name not in list(known) + ["loss"]:
        raise UserError(f"--metric_for_best_model {requested!r}: {task} produces {', '.join(list(known) + ['loss'])}")
    return name


def encoder_trainer_class():
    """Trainer with evaluation in row order and an optional class-weighted cross-entropy."""
    import torch
    from transformers import Trainer

    class EncoderTrainer(OrderedEvaluationMixin, Trainer):
        class_weights: "torch.Tensor | None" = None
        loss_is_scaled_for_ga = False  # our weighted loss is a per-batch mean: the Trainer divides it

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.class_weights is None:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.logits.float()
            loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1),
                                                     weight=self.class_weights.to(logits.device), ignore_index=-100)
            return (loss, outputs) if return_outputs else loss

    return EncoderTrainer


def precision_name(fp16: bool, bf16: bool) -> str:
    return "fp16" if fp16 else "bf16" if bf16 else "fp32"


def describe_run(cfg, family: str, total_steps: int, args, fp16: bool, bf16: bool) -> str:
    return (f"training {cfg.model_name} ({family}, {cfg.task}) for {total_steps} optimizer steps: batch "
            f"{cfg.batch_size} x {cfg.gradient_accumulation_steps} accumulation x {args.world_size} processes, lr "
            f"{cfg.learning_rate:g}, warm-up {args.warmup_steps}, precision {precision_name(fp16, bf16)}")


@dataclasses.dataclass
class EncoderFit:
    """A finished `fit`: the trainer (holding the best model) and what the results file needs."""

    trainer: Any
    train_output: Any
    per_epoch_rows: int  # validation rows scored at each evaluation (--max_eval_samples)
    fp16: bool
    bf16: bool
    family: str
    started: float


def fit(cfg, out, checkpoint, model, tokenizer, collator, train_set, validation_set, compute_metrics, *,
        fp16: bool, bf16: bool, family: str, started: float, class_weights: list[float] | None = None) -> EncoderFit:
    """Build the encoder Trainer on the shared arguments and callbacks, and train.

    `validation_set` is None without validation rows; `class_weights` (one per label id)
    weight the cross-entropy."""
    from transformers import TrainingArguments

    per_epoch_rows = 0 if validation_set is None else min(len(validation_set), cfg.max_eval_samples or len(validation_set))
    args = TrainingArguments(**trainer_arguments(cfg, out, fp16, bf16, validation_set is not None))
    total_steps = planned_optimizer_steps(len(train_set), cfg.batch_size, cfg.gradient_accumulation_steps,
                                          args.world_size, cfg.num_epochs, cfg.max_steps)
    args.warmup_steps = capped_warmup(cfg.warmup_steps, total_steps)
    trainer = encoder_trainer_class()(
        model=model, args=args, processing_class=tokenizer, data_collator=collator, train_dataset=train_set,
        eval_dataset=None if validation_set is None else validation_set.select(range(per_epoch_rows)),
        compute_metrics=None if validation_set is None else compute_metrics,
    )
    if class_weights is not None:
        import torch

        trainer.class_weights = torch.tensor(class_weights, dtype=torch.float32)
    attach_callbacks(trainer, cfg, out)
    log.info("%s", describe_run(cfg, family, total_steps, args, fp16, bf16))
    train_output = trainer.train(resume_from_checkpoint=checkpoint)
    return EncoderFit(trainer, train_output, per_epoch_rows, fp16, bf16, family, started)


def base_results(cfg, done: EncoderFit, *, train_rows: int, validation_rows: int, max_length: int, truncated: int,
                 validation_source: str) -> dict[str, Any]:
    """The task-independent part of evaluation_results.json."""
    return {
        "model": cfg.model_name, "model_type": done.family, "task": cfg.task,
        "data": {"training_file": cfg.training_data, "train_rows": train_rows, "validation_rows": validation_rows,
                 "per_epoch_validation_rows": done.per_epoch_rows, "max_length": max_length,
                 "validation_source": cfg.validation_data or validation_source, "truncated_train_inputs": truncated},
        "run": run_summary(done.trainer, done.train_output, done.started, precision_name(done.fp16, done.bf16)),
        "per_evaluation": evaluation_history(done.trainer.state.log_history),
    }


def save_results(cfg, done: EncoderFit, out, results: dict[str, Any], max_length: int) -> None:
    """Wall time, then final_model/, the effective config, plots and evaluation_results.json."""
    results["run"]["wall_time_s"] = round(time.time() - done.started, 2)
    used = effective_config(cfg, fp16=done.fp16, bf16=done.bf16, warmup_steps=done.trainer.args.warmup_steps,
                            max_length=max_length)
    save_run_files(done.trainer, used, out, results)
