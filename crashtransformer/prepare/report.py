"""The data report of prepare-data: counters filled while rows stream, summarised as JSON and text.

Lengths are kept as compact arrays (4 bytes a row), so a million-row export costs a few MB here.
"""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

import numpy as np

from crashtransformer.data.records import CrashRecord
from crashtransformer.data.splitting import SPLIT_NAMES

DIVERSITY_NGRAM = 4  # distinct-n for synthetic text: the share of word 4-grams that are new


def length_stats(values: array) -> dict[str, float]:
    if not values:
        return {"count": 0}
    data = np.frombuffer(values, dtype=np.uint32) if values.itemsize == 4 else np.asarray(values)
    return {"count": int(data.size), "min": int(data.min()), "mean": round(float(data.mean()), 1),
            "median": float(np.median(data)), "p95": float(np.percentile(data, 95)), "max": int(data.max())}


class OutputStats:
    """What was written: per split counts, lengths, plan coverage, labels, diversity."""

    def __init__(self, label_key: str | None, diversity: bool):
        self.rows = Counter()
        self.narrative_chars, self.narrative_words = array("I"), array("I")
        self.summary_chars, self.summary_words = array("I"), array("I")
        self.plan_source = Counter()
        self.label_key = label_key
        self.labels: dict[str, Counter] = {}
        self.diversity = diversity
        self._narratives: set[int] = set()
        self._ngrams: set[int] = set()
        self._ngram_total = 0

    def add(self, record: CrashRecord, split: int, plan_source: str) -> None:
        name = SPLIT_NAMES[split]
        self.rows[name] += 1
        self.narrative_chars.append(len(record.narrative))
        self.narrative_words.append(len(record.narrative.split()))
        if record.summary:
            self.summary_chars.append(len(record.summary))
            self.summary_words.append(len(record.summary.split()))
        self.plan_source[plan_source if record.plan_lines else "none"] += 1
        if self.label_key:
            label = record.metadata.get(self.label_key)
            self.labels.setdefault(name, Counter())["(missing)" if label in (None, "") else str(label)] += 1
        if self.diversity:
            self._narratives.add(hash(record.narrative))
            words = record.narrative.lower().split()
            grams = [hash(tuple(words[i:i + DIVERSITY_NGRAM])) for i in range(len(words) - DIVERSITY_NGRAM + 1)]
            self._ngram_total += len(grams)
            self._ngrams.update(grams)

    def summary(self) -> dict[str, Any]:
        total = sum(self.rows.values())
        report: dict[str, Any] = {
            "narrative_chars": length_stats(self.narrative_chars),
            "narrative_words": length_stats(self.narrative_words),
            "rows_with_summary": len(self.summary_chars),
            "summary_chars": length_stats(self.summary_chars),
            "summary_words": length_stats(self.summary_words),
            "plans": {"rows_with_plan_lines": total - self.plan_source["none"],
                      "coverage": round((total - self.plan_source["none"]) / total, 4) if total else 0.0,
                      "from_input": self.plan_source["input"], "extracted": self.plan_source["extracted"],
                      "none": self.plan_source["none"]},
        }
        if self.label_key:
            overall = sum(self.labels.values(), Counter())
            report["label_balance"] = {"column": self.label_key, "all": dict(overall.most_common()),
                                       **{split: dict(c.most_common()) for split, c in self.labels.items()}}
        if self.diversity:
            report["diversity"] = {
                "distinct_narrative_ratio": round(len(self._narratives) / total, 4) if total else 0.0,
                f"distinct_{DIVERSITY_NGRAM}gram_ratio":
                    round(len(self._ngrams) / self._ngram_total, 4) if self._ngram_total else 0.0}
        return report


class CleaningStats:
    """--clean_summaries: what cleaning the summaries (prepare/faithful.py) touched, over all rows checked."""

    FIELDS = ("rows_checked", "rows_touched", "sentences_dropped", "clauses_dropped", "hedges_removed",
              "unsupported_removed", "rows_without_target")

    def __init__(self):
        self.counts = Counter(dict.fromkeys(self.FIELDS, 0))

    @property
    def rows_without_target(self) -> int:
        return self.counts["rows_without_target"]

    def add(self, cleaned) -> None:
        """One prepare.faithful.CleanedSummary."""
        self.counts.update(rows_checked=1, rows_touched=int(cleaned.touched), rows_without_target=int(cleaned.empty),
                           sentences_dropped=cleaned.dropped_sentences, clauses_dropped=cleaned.dropped_clauses,
                           hedges_removed=cleaned.hedges_removed, unsupported_removed=cleaned.unsupported_removed)

    def summary(self) -> dict[str, int]:
        return {name: self.counts[name] for name in self.FIELDS}


def format_report(report: dict[str, Any]) -> str:
    """A few lines for the terminal; the JSON file has everything."""
    lines = [f"rows in: {report['rows_in']}  =  rows out: {report['rows_out']}  +  rejected: {report['rows_rejected']}"
             f"  ({'balanced' if report['balanced'] else 'NOT BALANCED'})"]
    for split, info in report["outputs"].items():
        lines.append(f"  {split}: {info['rows']} rows -> {info['path']}")
    source = report.get("input") or {}
    if source.get("target_field"):  # pipeline rows carry several summaries: say which one is the target
        lines.append(f"target: {source['target_field']} (chosen by {source['target_field_chosen_by']})")
    if report["rejects_by_reason"]:
        reasons = ", ".join(f"{k}={v}" for k, v in report["rejects_by_reason"].items())
        lines.append(f"rejected by reason: {reasons} -> {report['rejects_file']}")
    dup = report["duplicates"]
    lines.append(f"duplicates: {dup['exact_duplicate_rows']} exact, {dup['near_duplicate_rows']} near "
                 f"(threshold {dup['threshold']}), dropped {dup['dropped']}, "
                 f"across splits {dup['duplicate_pairs_across_splits']}")
    nar = report["narrative_chars"]
    if nar.get("count"):
        lines.append(f"narrative chars: median {nar['median']:g}, p95 {nar['p95']:g}, max {nar['max']}; "
                     f"rows with summary: {report['rows_with_summary']}")
    plans = report["plans"]
    lines.append(f"plan coverage: {plans['coverage']:.1%} ({plans['from_input']} from input, "
                 f"{plans['extracted']} extracted, {plans['none']} without)")
    if "summary_cleaning" in report:
        c = report["summary_cleaning"]
        lines.append(f"summary cleaning: {c['rows_touched']} of {c['rows_checked']} summaries touched; dropped "
                     f"{c['sentences_dropped']} sentences and {c['clauses_dropped']} clauses; removed "
                     f"{c['hedges_removed']} hedges and {c['unsupported_removed']} unsupported claims; "
                     f"{c['rows_without_target']} rows left with no target (rejected)")
    if "diversity" in report:
        lines.append("diversity: " + ", ".join(f"{k} {v}" for k, v in report["diversity"].items()))
    if "label_balance" in report:
        top = list(report["label_balance"]["all"].items())[:8]
        lines.append(f"labels ({report['label_balance']['column']}): " + ", ".join(f"{k}={v}" for k, v in top))
    lines.append(f"report: {report['report_file']}")
    return "\n".join(lines)
