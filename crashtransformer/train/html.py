"""training_report.html: one self-contained page of a fine-tuning run, for every task.

The curves of the Trainer's log history as inline SVG, the per-evaluation metrics, the final
validation figures, the settings as saved in training_config.json and what the run took.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from crashtransformer.core.version import __version__
from crashtransformer.report.charts import line_chart
from crashtransformer.report.html import render_page

HTML_REPORT = "training_report.html"
# (chart title, [(curve name, log_history key)]): curves sharing a chart share a scale
CURVES = (
    ("Loss", [("training loss", "loss"), ("validation loss", "eval_loss")]),
    ("Learning rate", [("learning rate", "learning_rate")]),
    ("Gradient norm", [("gradient norm", "grad_norm")]),
)


def write_training_html(output_dir, log_history, config: dict, results: dict) -> Path:
    """Render the page from the Trainer's log history, the saved config and evaluation_results.json's dict."""
    run = results.get("run") or {}
    history = results.get("per_evaluation") or []
    final = results.get("metrics") or {}
    intervals = results.get("confidence_intervals") or {}
    level = ((results.get("metric_settings") or {}).get("bootstrap") or {}).get("confidence", 0.95)
    return render_page(
        "training.html.j2", Path(output_dir) / HTML_REPORT, version=__version__,
        written_at=time.strftime("%Y-%m-%d %H:%M:%S"), out_dir=str(output_dir), results=results, run=run,
        data=results.get("data") or {}, config=config, took=_duration(run.get("wall_time_s")),
        trained=_duration(run.get("train_runtime_s")), confidence=f"{level * 100:g}%",
        curves=[(title, line_chart({name: points for name, key in keys if (points := curve(log_history, key))}))
                for title, keys in CURVES],
        history_columns=list(dict.fromkeys(key for entry in history for key in entry)), history=history,
        final=[{"name": name, "value": value, "interval": intervals.get(name)}
               for name, value in final.items() if _number(value) is not None])


def curve(log_history, key: str) -> list[tuple[float, float]]:
    """(step, value) of every log entry holding `key`; NaN and inf are left out (they would break the axes)."""
    return [(float(entry["step"]), float(entry[key])) for entry in log_history or []
            if _number(entry.get(key)) is not None and _number(entry.get("step")) is not None]


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _duration(seconds) -> str:
    if _number(seconds) is None:
        return "–"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {rest:02d} s" if hours else f"{minutes} min {rest:02d} s"
