"""Trainer callbacks every task attaches: stop on a non-finite loss, readable log lines,
early stopping, and TensorBoard curves in <output_dir>/logs (main process only); and the
collapse check of seq2seq evaluations (collapse_figures, CollapseCallback)."""

from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from transformers import TrainerCallback

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.models.shipped import shipped_model_dir


class NonFiniteLossCallback(TrainerCallback):
    """Stops the run with a clear message as soon as a logged loss is NaN or infinite."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key in ("loss", "eval_loss"):
            value = (logs or {}).get(key)
            if isinstance(value, (int, float)) and not math.isfinite(value):
                raise UserError(
                    f"training stopped: {key} became {value} at step {state.global_step} (epoch {state.epoch or 0:.2f}); "
                    f"lower --learning_rate (now {args.learning_rate:g}), train without --fp16, or check the data"
                )


class LogLinesCallback(TrainerCallback):
    """Training and evaluation figures to the log file (and the console when no tqdm bar shows them)."""

    def __init__(self, console: bool):
        self.level = logging.INFO if console else logging.DEBUG

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        epoch = f"epoch {state.epoch or 0:.2f}"
        if any(key.startswith("eval_") for key in logs):
            figures = ", ".join(f"{k[5:]} {_fmt(v)}" for k, v in logs.items()
                                if k.startswith("eval_") and not k.endswith(("_per_second", "runtime")))
            log.log(self.level, "evaluation at step %d (%s): %s", state.global_step, epoch, figures)
        elif "loss" in logs:
            figures = ", ".join(f"{k} {_fmt(logs[k])}" for k in ("loss", "learning_rate", "grad_norm") if k in logs)
            log.log(self.level, "step %d/%d (%s): %s", state.global_step, state.max_steps, epoch, figures)
        else:
            log.log(self.level, "training finished: %s", ", ".join(f"{k} {_fmt(v)}" for k, v in logs.items()))


# Collapse: the model writes one sentence for most crashes. The rule looks at the most frequent
# prediction, not at gen_distinct (the share of predictions no other one repeats): gen_distinct is
# also low for a healthy model whose summaries come in pairs, but one sentence making up half of
# all summaries is what a collapsed model does and a working one on varied crashes never does.
COLLAPSE_TOP_SHARE = 0.5  # collapsed when one prediction is at least this share of them all ...
COLLAPSE_MIN_ROWS = 5  # ... of at least this many (two or three rows cannot tell collapse from chance)


def collapse_figures(predictions: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """How far the predictions are one repeated sentence; `collapsed` by the rule above, unless the
    references are that repetitive themselves (then writing their one sentence is right)."""
    counts = Counter(" ".join(p.split()).lower() for p in predictions)
    top, top_count = counts.most_common(1)[0] if counts else ("", 0)
    reference_top = max(Counter(" ".join(r.split()).lower() for r in references).values(), default=0)
    top_share = top_count / len(predictions) if predictions else 0.0
    reference_top_share = reference_top / len(references) if references else 0.0
    return {"collapsed": len(predictions) >= COLLAPSE_MIN_ROWS and top_share >= COLLAPSE_TOP_SHARE
                         and reference_top_share < COLLAPSE_TOP_SHARE,
            "rows": len(predictions), "distinct_predictions": len(counts),
            "top_prediction": next((p for p in predictions if " ".join(p.split()).lower() == top), ""),
            "top_prediction_share": round(top_share, 4), "reference_top_share": round(reference_top_share, 4),
            "rule": f"collapsed when one prediction is at least {COLLAPSE_TOP_SHARE:.0%} of at least "
                    f"{COLLAPSE_MIN_ROWS} predictions and no reference is {COLLAPSE_TOP_SHARE:.0%} of the references"}


def collapse_advice() -> str:
    """What to do about a collapsed model: the shipped default model already writes summaries."""
    return ("train longer (--num_epochs), try another --learning_rate, or fine-tune the shipped default model "
            f"instead of a new one (--model_name {shipped_model_dir()})")


class CollapseCallback(TrainerCallback):
    """Warns at each evaluation whose summaries collapsed (gen_collapsed, from make_compute_metrics)."""

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if state.is_world_process_zero and (metrics or {}).get("eval_gen_collapsed"):
            log.warning("COLLAPSED at step %d (epoch %.2f): %.0f%% of the validation summaries are one and the same "
                        "sentence; the model is not summarizing yet: %s", state.global_step, state.epoch or 0,
                        100 * metrics.get("eval_gen_top_share", 0), collapse_advice())


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def attach_callbacks(trainer, cfg, out: Path) -> None:
    """NaN stop, log lines, collapse warnings, early stopping and TensorBoard (main process only) on a built Trainer."""
    from transformers import EarlyStoppingCallback, PrinterCallback

    trainer.add_callback(NonFiniteLossCallback())
    trainer.add_callback(LogLinesCallback(console=trainer.args.disable_tqdm))
    trainer.add_callback(CollapseCallback())  # a no-op unless the evaluation has gen_collapsed (seq2seq)
    trainer.remove_callback(PrinterCallback)  # it prints raw dicts; LogLinesCallback writes readable lines
    if trainer.args.load_best_model_at_end and cfg.early_stopping_patience > 0:
        trainer.add_callback(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience))
    if cfg.report_to == "tensorboard" and trainer.is_world_process_zero():
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        trainer.add_callback(TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(out / "logs"))))
