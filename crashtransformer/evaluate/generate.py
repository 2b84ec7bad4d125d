"""`evaluate --model DIR --data FILE`: summaries made exactly as `run` makes them, then scored.

The rows of --data go through infer.summarizer (the plan policy, the prompt builder, beam and
sampled candidates, the reranker, the backend and seed that `run` uses) in chunks of `run`'s
default chunk size, so for the same rows and --seed the best summaries equal `run`'s. They are
written to predictions.jsonl (Crash_ID, best_summary, reference_summary, plan_lines) beside the
results, to be re-scored with `evaluate --predictions` without generating again.
"""

from __future__ import annotations

import time
from pathlib import Path

from crashtransformer.core.config import DEFAULT_CHUNK_SIZE, EvaluateConfig
from crashtransformer.core.errors import UserError
from crashtransformer.core.io import write_jsonl_atomic
from crashtransformer.core.logs import log
from crashtransformer.evaluate.inputs import EvaluationPairs, Problem
from crashtransformer.infer.summarizer import CrashSummary, Summarizer


def _read_data(cfg: EvaluateConfig) -> tuple[list, list[Problem]]:
    """Records that have a reference summary; everything else is a problem with its reason."""
    from crashtransformer.data.records import CrashRecord, RecordReader

    reader = RecordReader(cfg.data, id_column=cfg.id_column, summary_column=cfg.reference_column)
    records, problems = [], []
    for item in reader:
        if not isinstance(item, CrashRecord):
            problems.append(Problem(item.crash_id, str(cfg.data), item.row_number, item.reason, item.detail))
        elif not (item.summary or "").strip():
            problems.append(Problem(item.crash_id, str(cfg.data), item.row_number, "empty_reference",
                                    "no reference summary to score against"))
        else:
            records.append(item)
        if cfg.max_rows and len(records) >= cfg.max_rows:
            break
    return records, problems


def summarize_in_chunks(summarizer: Summarizer, records: list, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[CrashSummary]:
    """`run`'s chunks: the sampled candidates' random streams advance chunk by chunk as in `run`."""
    results: list[CrashSummary] = []
    for start in range(0, len(records), chunk_size):
        results.extend(summarizer.summarize(records[start:start + chunk_size]))
        log.info("generated %d/%d summaries", len(results), len(records))
    return results


def generate_pairs(cfg: EvaluateConfig, predictions_path: Path) -> tuple[EvaluationPairs, dict]:
    """Generate and choose one summary per usable row of --data; returns the pairs and a generation report."""
    records, problems = _read_data(cfg)
    if not records:
        raise UserError(f"{cfg.data}: no rows with both a narrative and a reference summary")
    summarizer = Summarizer.load(cfg.model, cfg.generation, cfg.model_input, cfg.loading, cfg.device, cfg.seed)
    started = time.perf_counter()
    results = summarize_in_chunks(summarizer, records)
    seconds = time.perf_counter() - started
    predictions = [result.best.candidate.text for result in results]
    plans = [result.planned.plan_lines for result in results]
    write_jsonl_atomic(predictions_path, ({"Crash_ID": r.crash_id, "best_summary": p, "reference_summary": r.summary,
                                           "plan_lines": plan} for r, p, plan in zip(records, predictions, plans)))
    pairs = EvaluationPairs(ids=[r.crash_id for r in records], predictions=predictions,
                            references=[r.summary for r in records], narratives=[r.narrative for r in records],
                            plans=plans, problems=problems)
    pairs.join = {"data_file": str(cfg.data), "pairs": len(records), "problems": len(problems),
                  "predictions_file": str(predictions_path)}
    return pairs, _generation_report(cfg, summarizer, results, seconds)


def _generation_report(cfg: EvaluateConfig, summarizer: Summarizer, results: list[CrashSummary], seconds: float) -> dict:
    settings = summarizer.settings
    return {"model": cfg.model, "family": summarizer.inputs.family, "backend": summarizer.backend_name,
            "backend_reason": summarizer.backend_reason, "device": str(summarizer.device),
            "batch_size": summarizer.batch_size, "max_length": summarizer.inputs.max_length,
            "no_plan": summarizer.inputs.no_plan, "truncated_inputs": sum(r.truncated for r in results),
            "generation_config": summarizer.generation_config.to_diff_dict(),
            "num_candidates": settings.num_candidates, "num_samples": settings.num_samples,
            "sampling": {"top_p": settings.top_p, "temperature": settings.temperature, "seed": cfg.seed}
            if settings.num_samples else None,
            "seconds": round(seconds, 2), "summaries_per_s": round(len(results) / seconds, 2) if seconds else None}
