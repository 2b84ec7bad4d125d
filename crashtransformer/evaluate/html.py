"""evaluation_report.html: one self-contained page of an `evaluate` output directory.

The headline (the claim checker's unsupported-claim and speculation rates, metrics/claims.py),
the metric table with its confidence intervals and counts, the plots inlined, the first summaries
with unsupported claims and the examples that scored worst and best, so a reader sees what a low
ROUGE-L looks like without a spreadsheet.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

from crashtransformer.core.version import __version__
from crashtransformer.report.html import png_data_uri, render_page

HTML_REPORT = "evaluation_report.html"
EXAMPLES_SHOWN = 5  # worst and best each
RANKING_METRIC = "rougeL_f1"
TEXT_FIELDS = ("Crash_ID", "prediction", "reference", "narrative")
# The headline figures: (aggregate, label, what it counts); all are shares of summaries.
HEADLINE_RATES = (("unsupported_claim_rate", "unsupported-claim rate",
                   "summaries asserting something their narrative does not support"),
                  ("speculation_rate", "speculation rate", "summaries that guess (likely, may have, ...)"))
CLAIMS_SHOWN = 10  # summaries with unsupported claims listed on the page (all are in the CSV)
# unsupported_list is "type: text (reason); type: ..."; a reason may itself hold "; "
_CLAIM_SPLIT = re.compile(r"; (?=(?:factor|speed|impairment|blame|manner|unit|turn|control|conditions|injury|"
                          r"specifics|hedge): )")


def write_evaluation_html(output_dir, results: dict, per_example: list[dict], plots: list[Path]) -> Path:
    """Render the page. `per_example`: one dict per pair, its metrics plus Crash_ID, prediction,
    reference and (when known) narrative."""
    metric = ranking_metric(per_example)
    worst, best = extremes(per_example, metric)
    return render_page(
        "evaluation.html.j2", Path(output_dir) / HTML_REPORT, version=__version__,
        written_at=time.strftime("%Y-%m-%d %H:%M:%S"), out_dir=str(output_dir), results=results,
        metrics=metric_rows(results), confidence=_confidence(results), skipped=results.get("skipped") or {},
        headline=headline(results), claimed=_claimed(per_example),
        join=results.get("join") or {}, pairs=len(per_example),
        plots=[{"name": Path(p).stem.replace("_", " "), "uri": png_data_uri(p)} for p in plots],
        metric=metric, worst=[_example(row, metric) for row in worst], best=[_example(row, metric) for row in best])


def metric_rows(results: dict) -> list[dict]:
    """Every aggregate that has a value, in the order evaluation_results.json lists them."""
    intervals = results.get("confidence_intervals") or {}
    counts = results.get("counts") or {}
    rows = []
    for name, value in (results.get("aggregates") or {}).items():
        if value is None:
            continue
        interval = intervals.get(name) or [None, None]
        rows.append({"name": name, "value": value, "low": interval[0], "high": interval[1], "count": counts.get(name)})
    return rows


def headline(results: dict) -> list[dict]:
    """The unsupported-claim and speculation rates as headline figures, with their intervals."""
    aggregates, intervals = results.get("aggregates") or {}, results.get("confidence_intervals") or {}
    counts, confidence = results.get("counts") or {}, _confidence(results)
    figures = []
    for key, label, counted in HEADLINE_RATES:
        value, interval = aggregates.get(key), intervals.get(key)
        if value is None:
            figures.append({"key": key, "label": label, "value": "–",
                            "detail": "not measured: the pairs carry no narratives"})
            continue
        ci = f"{confidence} CI {100 * interval[0]:.1f}–{100 * interval[1]:.1f}%; " if interval else ""
        figures.append({"key": key, "label": label, "value": f"{100 * value:.1f}%",
                        "detail": f"{ci}share of {counts.get(key, 0):,} {counted}"})
    return figures


def _claimed(rows: list[dict]) -> dict:
    """The first CLAIMS_SHOWN examples whose summary has an unsupported claim or a hedge."""
    flagged = [row for row in rows if row.get("unsupported_list")]
    return {"total": len(flagged), "rows": [_example(row, None) for row in flagged[:CLAIMS_SHOWN]]}


def _confidence(results: dict) -> str:
    level = ((results.get("settings") or {}).get("bootstrap") or {}).get("confidence", 0.95)
    return f"{level * 100:g}%"


def _score(row: dict, column: str) -> float | None:
    value = row.get(column)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _metric_columns(rows: list[dict]) -> list[str]:
    columns = dict.fromkeys(key for row in rows for key in row if key not in TEXT_FIELDS and not key.startswith("_"))
    return [column for column in columns if any(_score(row, column) is not None for row in rows)]


def ranking_metric(rows: list[dict]) -> str | None:
    """ROUGE-L F1, or the first per-example metric that has numbers when it is absent."""
    columns = _metric_columns(rows)
    return RANKING_METRIC if RANKING_METRIC in columns else next(iter(columns), None)


def extremes(rows: list[dict], metric: str | None) -> tuple[list[dict], list[dict]]:
    """(worst, best) rows by `metric`, never the same row twice: a small evaluation splits in half."""
    if metric is None:
        return [], []
    scored = sorted((row for row in rows if _score(row, metric) is not None), key=lambda row: _score(row, metric))
    worst_count = min(EXAMPLES_SHOWN, (len(scored) + 1) // 2)
    best_count = min(EXAMPLES_SHOWN, len(scored) - worst_count)
    return scored[:worst_count], scored[::-1][:best_count]


def _example(row: dict, metric: str | None) -> dict:
    claims = row.get("unsupported_list")
    return {"id": row.get("Crash_ID", ""), "prediction": row.get("prediction", ""), "reference": row.get("reference", ""),
            "narrative": row.get("narrative") or "", "score": _score(row, metric) if metric else None,
            "claims": _CLAIM_SPLIT.split(claims) if isinstance(claims, str) and claims else [],
            "metrics": {column: row[column] for column in _metric_columns([row])}}
