"""`evaluate --model DIR --data FILE`: summaries made exactly as `run` makes them, then scored.

--data is read as `run` reads a file (the same reader, cleaning, and narratives over max_chars
cut, not rejected) and in `run`'s
chunks; every valid row of a chunk is summarized through infer.summarizer (the plan policy, the
prompt builder, beam and sampled candidates, the reranker, the backend and the seed `run` uses),
rows without a reference included, so the sampled candidates' random streams advance as in
`run`: for the same file, flags and --seed, the best summaries are `run`'s. Rows with a
reference are scored; every summary goes to predictions.jsonl (Crash_ID, best_summary,
reference_summary, plan_lines, summary_source: model or graph), re-scorable with
`evaluate --predictions` without generating.
"""

from __future__ import annotations

import time
from pathlib import Path

from crashtransformer.core.config import DEFAULT_CHUNK_SIZE, EvaluateConfig
from crashtransformer.core.errors import UserError
from crashtransformer.core.io import write_jsonl_atomic
from crashtransformer.core.logs import log
from crashtransformer.data.records import CrashRecord, RecordReader, chunked
from crashtransformer.evaluate.inputs import EvaluationPairs, Problem
from crashtransformer.infer.summarizer import Summarizer


def _reader(cfg: EvaluateConfig) -> RecordReader:
    return RecordReader(cfg.data, text_column=cfg.text_column, summary_column=cfg.reference_column,
                        id_column=cfg.id_column, max_chars=cfg.max_chars, long_narratives="truncate")


def generate_pairs(cfg: EvaluateConfig, predictions_path: Path) -> tuple[EvaluationPairs, dict]:
    """Generate and choose a summary for each valid row of --data; returns the scorable pairs and a report."""
    summarizer = Summarizer.load(cfg.model, cfg.generation, cfg.model_input, cfg.loading, cfg.device, cfg.seed)
    pairs, problems, written = EvaluationPairs(narratives=[], plans=[]), [], []
    started, generated, truncated, from_graph = time.perf_counter(), 0, 0, 0
    for chunk in chunked(_reader(cfg), DEFAULT_CHUNK_SIZE):
        problems += [Problem(r.crash_id, str(cfg.data), r.row_number, r.reason, r.detail)
                     for r in chunk if not isinstance(r, CrashRecord)]
        records = [r for r in chunk if isinstance(r, CrashRecord)]
        if cfg.max_rows is not None:  # as `run --limit`: the rest of the file is not read
            records = records[:max(cfg.max_rows - generated, 0)]
        for record, result in zip(records, summarizer.summarize(records)):
            best = result.best.candidate.text
            source = getattr(result, "source", "model")  # "graph": no model candidate was clean
            written.append({"Crash_ID": record.crash_id, "best_summary": best, "reference_summary": record.summary,
                            "plan_lines": result.planned.plan_lines, "summary_source": source})
            truncated += result.truncated
            from_graph += source == "graph"
            if (record.summary or "").strip():
                _add_pair(pairs, record, best, result.planned.plan_lines)
            else:
                problems.append(Problem(record.crash_id, str(cfg.data), record.row_number, "empty_reference",
                                        "no reference summary to score against"))
        generated += len(records)
        log.info("generated %d summaries", generated)
        if cfg.max_rows is not None and generated >= cfg.max_rows:
            break
    if not pairs.ids:
        raise UserError(f"{cfg.data}: no rows with both a narrative and a reference summary")
    seconds = time.perf_counter() - started
    write_jsonl_atomic(predictions_path, written)
    pairs.problems = problems
    pairs.join = {"data_file": str(cfg.data), "pairs": len(pairs.ids), "problems": len(problems),
                  "predictions_file": str(predictions_path)}
    report = {"model": cfg.model, "family": summarizer.inputs.family, **summarizer.describe(cfg.seed),
              "truncated_inputs": truncated, "summaries": generated, "summaries_from_graph": from_graph,
              "seconds": round(seconds, 2),
              "summaries_per_s": round(generated / seconds, 2) if seconds else None}
    return pairs, report


def _add_pair(pairs: EvaluationPairs, record: CrashRecord, prediction: str, plan_lines: list[str]) -> None:
    pairs.ids.append(record.crash_id)
    pairs.predictions.append(prediction)
    pairs.references.append(record.summary)
    pairs.narratives.append(record.narrative)
    pairs.plans.append(plan_lines)
