"""`evaluate --model DIR --data FILE`: generate summaries for the data, as `run` would.

Inputs go through the one prompt builder (prompt.build_model_input) and the shared batched
generator (generation.generate_summaries); the predictions are written to predictions.jsonl
beside the results so they can be re-scored with `evaluate --predictions` without generating.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from crashtransformer.config import EvaluateConfig
from crashtransformer.errors import UserError
from crashtransformer.evaluation_inputs import EvaluationPairs, Problem
from crashtransformer.logs import log


def _read_data(cfg: EvaluateConfig) -> tuple[list, list[Problem]]:
    """Records that have a reference summary; everything else is a problem with its reason."""
    from crashtransformer.records import CrashRecord, RecordReader

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


def _generation_config(model, cfg: EvaluateConfig):
    import copy

    config = copy.deepcopy(model.generation_config)
    if cfg.max_new_tokens is not None:
        config.max_new_tokens = cfg.max_new_tokens
    if cfg.num_beams is not None:
        config.num_beams = cfg.num_beams
    return config


def generate_pairs(cfg: EvaluateConfig, predictions_path: Path) -> tuple[EvaluationPairs, dict]:
    """Generate one summary per usable row of --data; returns the pairs and a generation report."""
    from transformers import set_seed

    from crashtransformer.generation import default_batch_size, generate_summaries, pick_device
    from crashtransformer.modeling import input_limit, load_model, load_tokenizer
    from crashtransformer.prompt import build_model_input, model_family

    records, problems = _read_data(cfg)
    if not records:
        raise UserError(f"{cfg.data}: no rows with both a narrative and a reference summary")
    set_seed(cfg.seed)
    device = pick_device(cfg.device)
    model = load_model(cfg.model).to(device)
    tokenizer = load_tokenizer(cfg.model)
    family = model_family(model)
    max_length = input_limit(model.config, cfg.max_length)
    inputs = [build_model_input(r.narrative, r.plan_lines, tokenizer, family, max_length, cfg.no_plan)
              for r in records]
    generation_config = _generation_config(model, cfg)
    batch_size = cfg.batch_size or default_batch_size(device, generation_config.num_beams or 1)
    log.info("generating %d summaries with %s on %s (batch %d, %d beams, %s new tokens)", len(inputs), cfg.model,
             device, batch_size, generation_config.num_beams, generation_config.max_new_tokens)
    started = time.perf_counter()
    candidates = generate_summaries(model, tokenizer, [i.input_ids for i in inputs], batch_size,
                                    generation_config, progress=True)
    seconds = time.perf_counter() - started
    predictions = [c[0].text for c in candidates]
    _write_predictions(predictions_path, records, predictions)
    pairs = EvaluationPairs(ids=[r.crash_id for r in records], predictions=predictions,
                            references=[r.summary for r in records], narratives=[r.narrative for r in records],
                            plans=[r.plan_lines for r in records] if any(r.plan_lines for r in records) else None,
                            problems=problems)
    pairs.join = {"data_file": str(cfg.data), "pairs": len(records), "problems": len(problems),
                  "predictions_file": str(predictions_path)}
    report = {"model": cfg.model, "family": family, "device": str(device), "batch_size": batch_size,
              "max_length": cfg.max_length, "no_plan": cfg.no_plan,
              "truncated_inputs": sum(i.truncated for i in inputs),
              "generation_config": generation_config.to_diff_dict(), "seconds": round(seconds, 2),
              "summaries_per_s": round(len(records) / seconds, 2) if seconds else None}
    return pairs, report


def _write_predictions(path: Path, records: list, predictions: list[str]) -> Path:
    from crashtransformer.writers import AtomicFile

    file = AtomicFile(path)
    try:
        for record, prediction in zip(records, predictions):
            file.handle.write(json.dumps({"Crash_ID": record.crash_id, "prediction": prediction,
                                          "reference_summary": record.summary, "plan_lines": record.plan_lines},
                                         ensure_ascii=False) + "\n")
    except BaseException:
        file.abort()
        raise
    return file.commit()
