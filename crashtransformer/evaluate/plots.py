"""PNG plots of an evaluation: per-example metric histograms and a length scatter (matplotlib Agg)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: evaluations run on servers and in cron

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

# Per-example columns worth a histogram, in display order; absent or all-empty ones are left out.
HISTOGRAM_COLUMNS = ("rouge1_f1", "rouge2_f1", "rougeL_f1", "sentence_bleu", "bertscore_f1", "similarity",
                     "length_ratio", "faithfulness_unigram", "plan_coverage")


def _values(rows: list[dict], column: str) -> list[float]:
    return [float(row[column]) for row in rows
            if isinstance(row.get(column), (int, float)) and not math.isnan(float(row[column]))]


def plot_metric_histograms(rows: list[dict], path: Path) -> Path | None:
    """One small histogram per metric, with its mean marked."""
    series = [(column, _values(rows, column)) for column in HISTOGRAM_COLUMNS]
    series = [(column, values) for column, values in series if values]
    if not series:
        return None
    cols = 3
    grid_rows = math.ceil(len(series) / cols)
    figure, axes = plt.subplots(grid_rows, cols, figsize=(4 * cols, 3 * grid_rows), squeeze=False)
    for axis, (column, values) in zip(axes.flat, series):
        axis.hist(values, bins=30, color="#4C72B0", alpha=0.85)
        mean = sum(values) / len(values)
        axis.axvline(mean, color="#C44E52", linestyle="--", label=f"mean {mean:.3f}")
        axis.set_title(column)
        axis.legend(fontsize=8)
    for axis in list(axes.flat)[len(series):]:
        axis.axis("off")
    figure.suptitle(f"Per-example metrics ({len(rows)} pairs)")
    return _save(figure, path)


def plot_length_scatter(rows: list[dict], path: Path) -> Path | None:
    """Prediction words against reference words, with the y = x line."""
    pairs = [(row["ref_words"], row["pred_words"]) for row in rows
             if isinstance(row.get("ref_words"), (int, float)) and isinstance(row.get("pred_words"), (int, float))]
    if not pairs:
        return None
    figure, axis = plt.subplots(figsize=(6, 6))
    axis.scatter([p[0] for p in pairs], [p[1] for p in pairs], s=8, alpha=0.4, color="#4C72B0")
    top = max(max(p) for p in pairs) or 1
    axis.plot([0, top], [0, top], color="#C44E52", linestyle="--", label="same length")
    axis.set_xlabel("reference words")
    axis.set_ylabel("prediction words")
    axis.set_title("Summary length: prediction vs reference")
    axis.legend()
    axis.grid(alpha=0.3)
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_plots(rows: list[dict], directory: Path) -> list[Path]:
    written = [plot_metric_histograms(rows, directory / "metric_histograms.png"),
               plot_length_scatter(rows, directory / "length_scatter.png")]
    return [path for path in written if path is not None]
