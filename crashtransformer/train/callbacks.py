"""Trainer callbacks every task attaches: stop on a non-finite loss, readable log lines,
early stopping, and TensorBoard curves in <output_dir>/logs (main process only)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log


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


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def attach_callbacks(trainer, cfg, out: Path) -> None:
    """NaN stop, log lines, early stopping and TensorBoard (main process only) on a built Trainer."""
    from transformers import EarlyStoppingCallback, PrinterCallback

    trainer.add_callback(NonFiniteLossCallback())
    trainer.add_callback(LogLinesCallback(console=trainer.args.disable_tqdm))
    trainer.remove_callback(PrinterCallback)  # it prints raw dicts; LogLinesCallback writes readable lines
    if trainer.args.load_best_model_at_end and cfg.early_stopping_patience > 0:
        trainer.add_callback(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience))
    if cfg.report_to == "tensorboard" and trainer.is_world_process_zero():
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        trainer.add_callback(TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(out / "logs"))))
