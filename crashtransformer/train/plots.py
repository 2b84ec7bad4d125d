"""PNG curves of a training run from the Trainer's log history (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import matplotlib

matplotlib.use("Agg")  # headless: training runs on servers and in cron

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def _series(log_history: Iterable[dict], key: str) -> tuple[list[float], list[float]]:
    points = [(entry["step"], entry[key]) for entry in log_history if key in entry and "step" in entry]
    return [p[0] for p in points], [p[1] for p in points]


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _line_plot(path: Path, title: str, ylabel: str, curves: list[tuple[str, list, list, str]]) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4))
    for label, steps, values, marker in curves:
        axes.plot(steps, values, marker=marker, label=label)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if len(curves) > 1:
        axes.legend()
    return _save(figure, path)


def plot_training_curves(log_history: list[dict], out_dir: str | Path) -> list[Path]:
    """loss.png (training and validation loss), learning_rate.png and validation_rouge.png
    (every eval_*rouge* figure); a plot with no points is skipped. Returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    loss_curves = [("training loss", *_series(log_history, "loss"), "."),
                   ("validation loss", *_series(log_history, "eval_loss"), "o")]
    loss_curves = [curve for curve in loss_curves if curve[1]]
    if loss_curves:
        written.append(_line_plot(out / "loss.png", "Loss", "loss", loss_curves))
    lr_steps, lr = _series(log_history, "learning_rate")
    if lr_steps:
        written.append(_line_plot(out / "learning_rate.png", "Learning-rate schedule", "learning rate",
                                  [("learning rate", lr_steps, lr, "")]))
    rouge_keys = sorted({k for entry in log_history for k in entry if k.startswith("eval_") and "rouge" in k})
    rouge_curves = [(key[5:], *_series(log_history, key), "o") for key in rouge_keys]
    if rouge_curves:
        written.append(_line_plot(out / "validation_rouge.png", "Validation ROUGE", "score", rouge_curves))
    return written
