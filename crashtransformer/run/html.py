"""report.html and crash_summaries.csv of a `run` out_dir, rebuilt from its artifacts.

Both are written at the end of every run and by `python crashtransformer.py report --out_dir DIR`.
The page is bounded however many crashes the directory holds: aggregates and charts cover every
crash; the table and the per-crash details cover the flagged crashes and a seeded sample of the
rest (DETAILS_FLAGGED + DETAILS_SAMPLE at most); every crash is in crash_summaries.csv.

The headline gives the claim checker's figures (metrics/claims.py) over every crash whose row
carries them: the share of summaries with an unsupported claim, the share that speculate, and how
many summaries were written from the crash graph. Rows of older runs carry none of these: their
claims count as unchecked and their summary source as unknown, never as clean or as the model's.
"""

from __future__ import annotations

import collections
import csv
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from crashtransformer.core.errors import UserError
from crashtransformer.core.io import AtomicFile, safe_cell
from crashtransformer.core.version import __version__
from crashtransformer.plan.catalogue import parse_plan
from crashtransformer.report.charts import bar_chart, heat_table
from crashtransformer.report.html import render_page
from crashtransformer.run.artifacts import REJECTS, REPORT, SUMMARIES, claims_text, iter_csv_rows, iter_paired

HTML_REPORT = "report.html"
SPREADSHEET = "crash_summaries.csv"
DETAILS_FLAGGED = 1000  # flagged crashes shown in full, first come
DETAILS_SAMPLE = 500  # unflagged crashes shown in full, a seeded reservoir sample
REJECTS_SHOWN = 1000  # rejects listed on the page (all are in rejects.csv)
SPREADSHEET_COLUMNS = ("Crash_ID", "narrative", "manner", "cause", "summary", "summary_source", "unsupported_claims",
                       "flags")
UNKNOWN_SOURCE = "unknown"  # a row without summary_source (an older run, a classifier's)
_HIGHLIGHT_ORDER = ("factor", "collision", "unit", "other")  # where spans overlap, the earlier wins


@dataclass
class Tally:
    """Counts over every crash of the directory."""

    crashes: int = 0
    manners: collections.Counter = field(default_factory=collections.Counter)
    factors: collections.Counter = field(default_factory=collections.Counter)
    pairs: collections.Counter = field(default_factory=collections.Counter)
    flags: collections.Counter = field(default_factory=collections.Counter)
    confidence: collections.Counter = field(default_factory=collections.Counter)
    sources: collections.Counter = field(default_factory=collections.Counter)  # summary_source
    claims_checked: int = 0  # crashes whose row carries the claim checker's figures
    unsupported: int = 0  # ... of them with an unsupported claim
    speculating: int = 0  # ... of them with a hedge

    def headline(self) -> list[dict]:
        """The headline figures: unsupported-claim rate, speculation rate, summaries from the graph."""
        checked, unknown = self.claims_checked, self.sources[UNKNOWN_SOURCE]
        unchecked = f"; {self.crashes - checked:,} not checked (older rows)" if checked < self.crashes else ""
        graph, known = self.sources["graph"], self.crashes - unknown
        return [
            {"key": "unsupported_claim_rate", "label": "unsupported-claim rate",
             "value": _share(self.unsupported, checked),
             "detail": f"{self.unsupported:,} of {checked:,} summaries assert something the narrative does not support"
                       f"{unchecked}"},
            {"key": "speculation_rate", "label": "speculation rate", "value": _share(self.speculating, checked),
             "detail": f"{self.speculating:,} of {checked:,} summaries guess (likely, may have, ...){unchecked}"},
            {"key": "summaries_from_graph", "label": "summaries written from the graph", "value": f"{graph:,}",
             "detail": f"of {known:,} with a known source ({self.sources['model']:,} by the model)"
                       + (f"; {unknown:,} unknown (older rows)" if unknown else "")},
        ]


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "–"


def claim_state(summary: dict) -> tuple[bool | None, bool | None]:
    """(has an unsupported claim, speculates) of a row: from its metrics, else from its
    unsupported_claims list; None where the row carries neither (a row of an older run)."""
    metrics = summary.get("metrics") or {}
    claims = summary.get("unsupported_claims")
    listed = claims if isinstance(claims, list) else None
    unsupported, speculation = metrics.get("has_unsupported_claim"), metrics.get("has_speculation")
    if unsupported is None and listed is not None:
        unsupported = any(c.get("type") != "hedge" for c in listed)
    if speculation is None and listed is not None:
        speculation = any(c.get("type") == "hedge" for c in listed)
    return (None if unsupported is None else bool(unsupported)), (None if speculation is None else bool(speculation))


def summary_source(summary: dict) -> str:
    return str(summary.get("summary_source") or UNKNOWN_SOURCE)


def crash_flags(summary: dict, graph: dict | None) -> list[str]:
    """What an analyst should look at twice."""
    metrics = summary.get("metrics") or {}
    flags = []
    if metrics.get("has_hallucinated_specific"):
        flags.append("invented specifics")
    unsupported, speculation = claim_state(summary)
    if unsupported:
        flags.append("unsupported claim")  # the claims and why are in the crash's details
    if speculation:
        flags.append("speculation")
    if graph is not None and not summary.get("plan_lines"):
        flags.append("no plan")
    if summary.get("input_truncated"):
        flags.append("input cut")  # the model read only the start of plan + narrative
    collision = _primary_collision(graph)
    if graph is not None and collision is None:
        flags.append("no manner")
    elif collision is not None and str(collision.get("rule", "")).startswith("learned"):
        flags.append("manner guessed")
    return flags


def answer(row: dict) -> str:
    """What the model said: the summary, or a classifier's label, or a tagger's entities."""
    if row.get("best_summary"):
        return row["best_summary"]
    if row.get("predicted_label") is not None:
        return f"{row['predicted_label']} (confidence {row.get('confidence', 0):.3f})"
    return ", ".join(f"{e.get('label')}: {e.get('text', '')}" for e in row.get("entities") or [])


def _primary_collision(graph: dict | None) -> dict | None:
    events = (graph or {}).get("events", [])
    return next((e for e in events if e.get("type") == "collision" and e.get("key")), None)


def highlighted(narrative: str, graph: dict | None) -> list[tuple[str, str | None]]:
    """The narrative as (text, kind) segments, kind naming the evidence span it lies in."""
    kinds: list[str | None] = [None] * len(narrative)
    spans = [(e.get("type"), e.get("evidence_span")) for e in (graph or {}).get("events", [])]
    spans += [("unit" if e.get("type") == "unit" else "other", e.get("evidence_span"))
              for e in (graph or {}).get("entities", []) if e.get("type") != "road"]
    for kind in reversed(_HIGHLIGHT_ORDER):  # paint the lowest priority first
        for span_kind, span in spans:
            if span_kind == kind and span and len(span) == 2 and span[1] - span[0] < len(narrative):
                kinds[max(span[0], 0):min(span[1], len(narrative))] = [kind] * max(0, min(span[1], len(narrative)) - max(span[0], 0))
    segments, start = [], 0
    for index in range(1, len(narrative) + 1):
        if index == len(narrative) or kinds[index] != kinds[start]:
            segments.append((narrative[start:index], kinds[start]))
            start = index
    return segments


def _crash_view(summary: dict, graph: dict | None, flags: list[str]) -> dict:
    steps = parse_plan(summary.get("plan_lines") or [])
    collision = _primary_collision(graph)
    narrative = ((graph or {}).get("crash") or {}).get("raw_narrative") or ""
    return {"id": str(summary["Crash_ID"]), "manner": collision["label"] if collision else "",
            "confidence": collision.get("confidence") if collision else None,
            "cause": steps[0].cause if steps else "", "summary": answer(summary),
            "flags": flags, "plan_lines": summary.get("plan_lines") or [], "summary_source": summary_source(summary),
            # None: not checked (an older row); [] checked and clean
            "claims": summary["unsupported_claims"] if isinstance(summary.get("unsupported_claims"), list) else None,
            "candidates": summary.get("candidates") or [], "reference": summary.get("reference_summary"),
            "metrics": summary.get("metrics") or {}, "segments": highlighted(narrative, graph),
            "source": f"{summary.get('source_file', '')}, row {summary.get('row_number', '?')}"}


def _count(tally: Tally, summary: dict, graph: dict | None, flags: list[str]) -> None:
    tally.crashes += 1
    collision = _primary_collision(graph)
    manner = collision["label"] if collision else "(none named)"
    tally.manners[manner] += 1
    factors = {e["label"] for e in (graph or {}).get("events", []) if e.get("type") == "factor"}
    for factor in factors:
        tally.factors[factor] += 1
        tally.pairs[(manner, factor)] += 1
    tally.flags.update(flags)
    tally.sources[summary_source(summary)] += 1
    unsupported, speculation = claim_state(summary)
    if unsupported is not None:
        tally.claims_checked += 1
        tally.unsupported += unsupported
        tally.speculating += bool(speculation)
    if collision is not None:
        tally.confidence[f"{min(int(collision['confidence'] * 10), 9) / 10:.1f}"] += 1


def collect(out_dir: Path, on_row=None, seed: int = 0) -> tuple[Tally, list[dict]]:
    """The tally of all crashes and the crashes shown in full; each crash's spreadsheet row goes
    to `on_row` as it is read (memory stays flat however many crashes the directory holds)."""
    tally, shown, sample = Tally(), [], []
    rng, unflagged = random.Random(seed), 0
    for summary, graph in iter_paired(out_dir):
        flags = crash_flags(summary, graph)
        _count(tally, summary, graph, flags)
        view = None
        if flags and len(shown) < DETAILS_FLAGGED:
            view = _crash_view(summary, graph, flags)
            shown.append(view)
        elif not flags:
            unflagged += 1  # reservoir sampling: each unflagged crash equally likely to be shown
            slot = len(sample) if len(sample) < DETAILS_SAMPLE else rng.randrange(unflagged)
            if slot < DETAILS_SAMPLE:
                view = _crash_view(summary, graph, flags)
                sample[slot:slot + 1] = [view]
        if on_row is not None:
            on_row(_spreadsheet_row(summary, graph, flags))
    return tally, shown + sample


def _spreadsheet_row(summary: dict, graph: dict | None, flags: list[str]) -> list[str]:
    collision = _primary_collision(graph)
    steps = parse_plan(summary.get("plan_lines") or [])
    narrative = ((graph or {}).get("crash") or {}).get("raw_narrative") or ""
    return [safe_cell(v) for v in (summary["Crash_ID"], narrative, collision["label"] if collision else "",
                                   steps[0].cause if steps else "", answer(summary), summary_source(summary),
                                   _claims_cell(summary), "; ".join(flags))]


def _claims_cell(summary: dict) -> str:
    """The unsupported claims as text; empty when there are none or the row was never checked."""
    claims = summary.get("unsupported_claims")
    return claims_text(claims) if isinstance(claims, list) else ""


def write_run_html(out_dir: str | Path) -> tuple[Path, Path]:
    """report.html and crash_summaries.csv of `out_dir` (from its artifacts)."""
    out_dir = Path(out_dir)
    spreadsheet = out_dir / SPREADSHEET
    with AtomicFile(spreadsheet) as handle:
        writer = csv.writer(handle)
        writer.writerow(SPREADSHEET_COLUMNS)
        tally, crashes = collect(out_dir, writer.writerow)
    report = _read_report(out_dir)
    rejects, rejects_total = _first_rejects(out_dir / REJECTS)
    page = render_page(
        "run.html.j2", out_dir / HTML_REPORT, version=__version__, written_at=time.strftime("%Y-%m-%d %H:%M:%S"),
        out_dir=str(out_dir), report=report, tally=tally, crashes=crashes, spreadsheet=SPREADSHEET,
        manners=bar_chart(list(tally.manners.items())), factors=bar_chart(list(tally.factors.items())),
        flags=bar_chart(list(tally.flags.items())), pairs=heat_table(dict(tally.pairs)), headline=tally.headline(),
        sources=bar_chart(list(tally.sources.items())), source_names=sorted(tally.sources),
        confidence=bar_chart([(f"{b / 10:.1f}", tally.confidence[f"{b / 10:.1f}"]) for b in range(10)], keep_order=True), rejects=rejects, rejects_total=rejects_total,
        inputs=_inputs(report))
    return page, spreadsheet


def _first_rejects(path: Path) -> tuple[list[dict], int]:
    """The rejects shown on the page and how many there are, streamed (a night may reject many)."""
    shown, total = [], 0
    for row in iter_csv_rows(path):
        total += 1
        if total <= REJECTS_SHOWN:
            shown.append(row)
    return shown, total


def rebuild_run_html(out_dir: str | Path) -> tuple[Path, Path]:
    """`report`: the page of an existing run directory (a run that read no row still gets one)."""
    if not (Path(out_dir) / REPORT).is_file() and not (Path(out_dir) / SUMMARIES).is_file():
        raise UserError(f"{out_dir} holds no {SUMMARIES} or {REPORT}: pass the --out_dir of a `run`")
    return write_run_html(out_dir)


def _read_report(out_dir: Path) -> dict:
    import json

    path = out_dir / REPORT
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return {}  # a damaged run_report.json costs the page its summary box, not the page


def _inputs(report: dict) -> list[str]:
    config = report.get("config") or {}
    files = [*(config.get("csv") or []), *(config.get("jsonl") or [])]
    return files + ([config["xlsx"]] if config.get("xlsx") else [])
