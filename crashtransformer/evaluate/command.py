"""The `evaluate` command: pair predictions with references (or generate them), score, write.

Two ways in:
- `--predictions P [--references R]`: pairs joined by Crash_ID (evaluate/inputs.py);
- `--model DIR --data FILE`: summaries generated and chosen exactly as `run` does
  (infer.summarizer, see evaluate/generate.py), written to predictions.jsonl, then scored.

Outputs in --output_dir: evaluation_results.json (aggregates, among them unsupported_claim_rate
and speculation_rate when narratives are known; 95% CIs, counts, skipped metrics and why,
settings, versions, join report), evaluation_per_example.csv (spreadsheet-safe; unsupported_list),
evaluation_problems.csv (rows that could not be paired; only when there are some),
plots/metric_histograms.png, plots/length_scatter.png, and evaluation_report.html (evaluate/html.py).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from crashtransformer.core.config import EvaluateConfig
from crashtransformer.core.errors import EXIT_OK, EXIT_PARTIAL, UserError
from crashtransformer.evaluate.html import write_evaluation_html
from crashtransformer.evaluate.inputs import EvaluationPairs, Problem, load_pairs
from crashtransformer.core.io import AtomicFile, check_writable_dir, safe_cell, write_json_atomic
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import versions
from crashtransformer.metrics.suite import MetricReport, score_pairs

RESULTS_FILE = "evaluation_results.json"
PER_EXAMPLE_FILE = "evaluation_per_example.csv"
PROBLEMS_FILE = "evaluation_problems.csv"
PREDICTIONS_FILE = "predictions.jsonl"
# Headline figures printed at the end of a run (all are in the JSON); the claim checker's two rates
# (metrics/claims.py) first, as on the page.
HEADLINE = ("unsupported_claim_rate", "speculation_rate", "rouge1_f1", "rouge2_f1", "rougeL_f1", "rougeLsum_f1",
            "bleu_4", "sentence_bleu", "bertscore_f1", "similarity_mean", "length_ratio_mean", "faithfulness_unigram",
            "plan_coverage", "hallucination_rate")


def evaluate(cfg: EvaluateConfig) -> tuple[Path, int]:
    """Run one evaluation; returns the output directory and the exit code (3 when rows were unpaired)."""
    started = time.perf_counter()
    out = check_writable_dir(cfg.output_dir, "--output_dir")
    generation_report = None
    if cfg.model or cfg.data:
        if not (cfg.model and cfg.data):
            raise UserError("--model and --data go together: the model generates summaries for the data's narratives")
        if cfg.predictions or cfg.references:
            raise UserError("give either --predictions/--references or --model/--data, not both")
        from crashtransformer.evaluate.generate import generate_pairs

        pairs, generation_report = generate_pairs(cfg, out / PREDICTIONS_FILE)
    elif cfg.predictions:
        pairs = load_pairs(cfg.predictions, cfg.references, cfg.id_column, cfg.prediction_column, cfg.reference_column)
    else:
        raise UserError("nothing to evaluate: pass --predictions FILE [--references FILE], or --model DIR --data FILE")
    if not pairs.ids:
        raise UserError(f"no pairs to score ({_describe_problems(pairs.problems) or 'the files are empty'})")
    if pairs.problems:
        log.warning("%d row(s) could not be scored: %s (listed in %s)", len(pairs.problems),
                    _describe_problems(pairs.problems), out / PROBLEMS_FILE)
    report = score_pairs(pairs.predictions, pairs.references, pairs.narratives, pairs.plans, cfg.metrics,
                         device=cfg.device, seed=cfg.seed)
    write_outputs(out, pairs, report, cfg, generation_report, time.perf_counter() - started)
    _log_headline(report)
    return out, EXIT_PARTIAL if pairs.problems else EXIT_OK


def _describe_problems(problems: list[Problem]) -> str:
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.reason] = counts.get(problem.reason, 0) + 1
    return ", ".join(f"{reason}={count}" for reason, count in counts.items())


# ----------------------------------------------------------------------------- writing


def write_outputs(out: Path, pairs: EvaluationPairs, report: MetricReport, cfg: EvaluateConfig,
                  generation_report: dict | None, elapsed: float) -> list[Path]:
    from crashtransformer.core.config import save_config

    out.mkdir(parents=True, exist_ok=True)
    results = {**report.to_dict(), "join": pairs.join, "generation": generation_report,
               "versions": versions("rouge-score", "sacrebleu", "bert-score", "nltk", "numpy"),
               "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "elapsed_s": round(elapsed, 2)}
    written = [write_json_atomic(out / RESULTS_FILE, results)]
    written.append(_write_per_example(out / PER_EXAMPLE_FILE, pairs, report.per_example))
    problems_path = out / PROBLEMS_FILE
    if pairs.problems:
        written.append(_write_problems(problems_path, pairs.problems))
    elif problems_path.exists():  # a stale list from an earlier run would mislead
        problems_path.unlink()
    plots = []
    if cfg.plots:
        from crashtransformer.evaluate.plots import write_plots

        plots = write_plots(report.per_example, out / "plots")
        written.extend(plots)
    written.append(save_config(cfg, out, "evaluation_config.json"))
    written.append(write_evaluation_html(out, results, _examples(pairs, report.per_example), plots))
    for path in written:
        log.info("wrote %s", path)
    return written


def _examples(pairs: EvaluationPairs, rows: list[dict]) -> list[dict]:
    """Per-example metrics with the texts they score, for the HTML report."""
    narratives = pairs.narratives or [None] * len(rows)
    return [{"Crash_ID": crash_id, "prediction": prediction, "reference": reference, "narrative": narrative, **row}
            for crash_id, prediction, reference, narrative, row
            in zip(pairs.ids, pairs.predictions, pairs.references, narratives, rows)]


def _csv_file(path: Path, header: list[str], rows) -> Path:
    """A CSV whose text cells are neutralised: a cell starting with = + - @ gets a leading '."""
    with AtomicFile(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_value(value) for value in row])
    return path


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"  # numbers stay numbers, never neutralised (a negative score is -0.1)
    return safe_cell(value)


def _write_per_example(path: Path, pairs: EvaluationPairs, rows: list[dict]) -> Path:
    metric_columns = list(dict.fromkeys(key for row in rows for key in row))
    header = ["Crash_ID", "prediction", "reference", *metric_columns]
    table = ([crash_id, prediction, reference, *(row.get(column) for column in metric_columns)]
             for crash_id, prediction, reference, row in zip(pairs.ids, pairs.predictions, pairs.references, rows))
    return _csv_file(path, header, table)


def _write_problems(path: Path, problems: list[Problem]) -> Path:
    rows = ([p.crash_id, p.file, p.row_number, p.reason, p.detail] for p in problems)
    return _csv_file(path, ["Crash_ID", "file", "row_number", "reason", "detail"], rows)


def _log_headline(report: MetricReport) -> None:
    for key in HEADLINE:
        value = report.aggregates.get(key)
        interval = report.confidence_intervals.get(key)
        if value is None:
            continue
        ci = f"  [95% CI {interval[0]:.4f} – {interval[1]:.4f}]" if interval else ""
        log.info("%-22s %.4f%s", key, value, ci)
    for name, reason in report.skipped.items():
        log.info("%-22s skipped: %s", name, reason)
