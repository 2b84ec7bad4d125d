"""Plan-conditioned seq2seq fine-tuning (BART, T5, Pegasus, any HF seq2seq) on Seq2SeqTrainer.

Inputs come from the one plan policy and prompt builder (plan.policy.ModelInputs), so training
sees exactly what `run` and `evaluate --model` will feed the model. Labels are padded with -100 (no loss on padding), batches are
padded dynamically and grouped by length, and each evaluation generates summaries and scores
them with ROUGE from crashtransformer.metrics.text; the best checkpoint by --metric_for_best_model
is the one kept as final_model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np

from crashtransformer.core.errors import UserError
from crashtransformer.core.io import write_jsonl_atomic
from crashtransformer.core.logs import log
from crashtransformer.models.loading import input_limit, quiet_progress_bars_off_terminal
from crashtransformer.plan.policy import ModelInputs
from crashtransformer.train.common import (
    OrderedEvaluationMixin,
    capped_warmup,
    effective_config,
    evaluation_history,
    load_train_and_validation,
    planned_optimizer_steps,
    prepare_output_dir,
    resolve_precision,
    run_summary,
    save_run_files,
    trainer_arguments,
)
from crashtransformer.train.callbacks import attach_callbacks, collapse_advice, collapse_figures


def encode_records(records: Sequence, model_inputs: ModelInputs, max_target_length: int):
    """A datasets.Dataset of input_ids/attention_mask/labels/length, and how many inputs were truncated."""
    from datasets import Dataset

    tokenizer = model_inputs.tokenizer
    inputs = model_inputs.build_all(records)[1]
    labels = tokenizer(text_target=[r.summary for r in records], max_length=max_target_length,
                       truncation=True)["input_ids"]
    dataset = Dataset.from_dict({
        "input_ids": [i.input_ids for i in inputs],
        "attention_mask": [[1] * len(i.input_ids) for i in inputs],
        "labels": labels,
        "length": [len(i.input_ids) for i in inputs],  # read by the length-grouped sampler
    })
    return dataset, sum(i.truncated for i in inputs)


def training_inputs(cfg, tokenizer, model) -> ModelInputs:
    """What the model reads in training: the one plan policy and prompt builder, as in `run`."""
    return ModelInputs(tokenizer, model, input_limit(model.config, cfg.model_input.max_length),
                       cfg.model_input.no_plan, want_graph=False)


def decode_generated(tokenizer, token_ids, rows: int) -> list[str]:
    """Generated ids for the first `rows` evaluation rows -> clean summaries.

    Seq2SeqTrainer gathers predictions with accelerator.gather (not gather_for_metrics), so a
    distributed run returns accelerate's padding copies too; evaluation is sharded in dataset
    order, which puts them after the real rows. -100 marks padding between gathered batches."""
    token_ids = np.asarray(token_ids)
    if len(token_ids) < rows:
        raise RuntimeError(f"{len(token_ids)} generated summaries for {rows} evaluation rows")
    token_ids = np.where(token_ids[:rows] < 0, tokenizer.pad_token_id, token_ids[:rows])
    return [text.strip() for text in tokenizer.batch_decode(token_ids, skip_special_tokens=True)]


def make_compute_metrics(tokenizer, references: list[str]):
    """compute_metrics for the Trainer: ROUGE F1 of generated summaries against the original
    reference texts (not the truncated label ids), the mean length in words, and the share of
    distinct summaries, the share of the most frequent one and whether they collapsed (a collapsing
    model writes one sentence for every crash, and ROUGE alone does not show it; CollapseCallback
    warns when gen_collapsed is 1)."""
    from crashtransformer.metrics.text import distinct_share, rouge_scores

    def compute(eval_prediction) -> dict[str, float]:
        predictions = decode_generated(tokenizer, eval_prediction.predictions, len(references))
        scores = {k: v for k, v in rouge_scores(predictions, references).items() if k.endswith("_f1")}
        scores["gen_words"] = float(np.mean([len(p.split()) for p in predictions])) if predictions else 0.0
        scores["gen_distinct"] = distinct_share(predictions)
        collapse = collapse_figures(predictions, references)
        scores["gen_top_share"] = collapse["top_prediction_share"]
        scores["gen_collapsed"] = float(collapse["collapsed"])  # the Trainer logs numbers only
        return scores

    return compute


def check_metric_name(name: str) -> None:
    """--metric_for_best_model must be a figure evaluation produces (checked before training starts)."""
    from crashtransformer.metrics.text import rouge_scores

    known = sorted(k for k in rouge_scores(["a"], ["a"]) if k.endswith("_f1")) + ["loss"]
    if name.removeprefix("eval_") not in known:
        raise UserError(f"--metric_for_best_model {name!r}: use one of {', '.join(known)}")


def final_evaluation(trainer, dataset, records: Sequence, model_inputs: ModelInputs, out: Path,
                     model_metrics: bool) -> dict:
    """Generate for the whole validation split with the best model and score it with the full
    metric suite (ROUGE, BLEU, BERTScore, similarity, length, plan coverage, faithfulness)."""
    from crashtransformer.core.settings import MetricSettings
    from crashtransformer.metrics.suite import score_pairs

    tokenizer = model_inputs.tokenizer
    references = [r.summary for r in records]
    trainer.compute_metrics = make_compute_metrics(tokenizer, references)
    output = trainer.predict(dataset, metric_key_prefix="eval")  # every process joins the generation
    if not trainer.is_world_process_zero():
        return {}
    predictions = decode_generated(tokenizer, output.predictions, len(records))
    options = MetricSettings(bertscore=model_metrics, similarity=model_metrics)
    report = score_pairs(predictions, references, [r.narrative for r in records], [model_inputs.plan(r).plan_lines for r in records],
                         options)
    write_jsonl_atomic(out / "validation_predictions.jsonl",
                       ({"Crash_ID": r.crash_id, "prediction": p, "reference_summary": r.summary}
                        for r, p in zip(records, predictions)))
    metrics = {"loss": output.metrics.get("eval_loss"), **report.aggregates}
    log.info("validation (%d rows): ROUGE-1/2/L F1 %.4f / %.4f / %.4f, BLEU %.4f", len(predictions),
             metrics["rouge1_f1"], metrics["rouge2_f1"], metrics["rougeL_f1"], metrics["bleu"])
    return {"metrics": metrics, "confidence_intervals": report.confidence_intervals,
            "metrics_skipped": report.skipped, "metric_settings": report.settings,
            "collapse": collapse_figures(predictions, references)}


def warn_if_collapsed(collapse: dict, out: Path) -> None:
    """The last word of a run whose final model writes one sentence for most crashes."""
    if collapse.get("collapsed"):
        log.warning("COLLAPSED: the final model writes the same summary for %.0f%% of the %d validation crashes "
                    "(%d distinct in all: %r). It is not usable yet: %s. Figures: 'collapse' in %s",
                    100 * collapse["top_prediction_share"], collapse["rows"], collapse["distinct_predictions"],
                    collapse["top_prediction"], collapse_advice(), out / "evaluation_results.json")


def generation_settings(model, num_beams: int, max_new_tokens: int) -> dict:
    config = model.generation_config
    return {"backend": "transformers generate", "num_beams": num_beams, "max_new_tokens": max_new_tokens,
            "no_repeat_ngram_size": config.no_repeat_ngram_size, "early_stopping": config.early_stopping,
            "length_penalty": config.length_penalty}


def _trainer_class():
    from transformers import Seq2SeqTrainer

    class OrderedSeq2SeqTrainer(OrderedEvaluationMixin, Seq2SeqTrainer):
        """Seq2SeqTrainer that generates for validation rows in their order."""

    return OrderedSeq2SeqTrainer


def train_seq2seq(cfg) -> Path:
    """Fine-tune a seq2seq summarizer as `cfg` says; return the output directory."""
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainingArguments

    from crashtransformer.models.loading import load_config, load_model, load_tokenizer
    from crashtransformer.plan.prompt import model_family

    started = time.time()
    quiet_progress_bars_off_terminal()
    check_metric_name(cfg.metric_for_best_model)
    out, checkpoint = prepare_output_dir(cfg)
    family = model_family(load_config(cfg.model_name, cfg.loading.trust_remote_code, cfg.loading.allow_pickle))
    fp16, bf16 = resolve_precision(cfg.fp16, cfg.bf16, family)

    train_records, validation_records = load_train_and_validation(cfg)  # every row has a summary

    tokenizer = load_tokenizer(cfg.model_name, cfg.loading.trust_remote_code)
    model = load_model(cfg.model_name, "seq2seq", cfg.loading.trust_remote_code, cfg.loading.allow_pickle)
    # Evaluation summaries as long as the targets, given to generate() as max_length (+1: the decoder
    # start token) rather than max_new_tokens: Seq2SeqTrainer puts max_length=20 back on the model's
    # generation config after its first batch, and beside max_new_tokens every later batch warned.
    model.generation_config.max_new_tokens = None

    model_inputs = training_inputs(cfg, tokenizer, model)
    max_length = model_inputs.max_length
    train_set, truncated = encode_records(train_records, model_inputs, cfg.max_target_length)
    validation_set, _ = encode_records(validation_records, model_inputs, cfg.max_target_length)
    if truncated:
        log.info("%d of %d training inputs were longer than --max_length %d: narratives cut, plans kept",
                 truncated, len(train_set), max_length)
    per_epoch_rows = min(len(validation_set), cfg.max_eval_samples or len(validation_set))
    eval_set = validation_set.select(range(per_epoch_rows))

    args = Seq2SeqTrainingArguments(**trainer_arguments(cfg, out, fp16, bf16, bool(validation_records)),
                                    predict_with_generate=True, generation_num_beams=cfg.num_beams,
                                    generation_max_length=cfg.max_target_length + 1)
    total_steps = planned_optimizer_steps(len(train_set), cfg.batch_size, cfg.gradient_accumulation_steps,
                                          args.world_size, cfg.num_epochs, cfg.max_steps)
    args.warmup_steps = capped_warmup(cfg.warmup_steps, total_steps)
    collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100,
                                      pad_to_multiple_of=8 if (fp16 or bf16) else None)  # tensor-core friendly
    trainer = _trainer_class()(
        model=model, args=args, data_collator=collator, processing_class=tokenizer,
        train_dataset=train_set, eval_dataset=eval_set if validation_records else None,
        compute_metrics=make_compute_metrics(tokenizer, [r.summary for r in validation_records[:per_epoch_rows]])
        if validation_records else None,
    )
    attach_callbacks(trainer, cfg, out)
    log.info("training %s (%s) for %d optimizer steps: batch %d x %d accumulation x %d processes, lr %g, "
             "warm-up %d, precision %s", cfg.model_name, family, total_steps, cfg.batch_size,
             cfg.gradient_accumulation_steps, args.world_size, cfg.learning_rate, args.warmup_steps,
             "fp16" if fp16 else "bf16" if bf16 else "fp32")
    train_output = trainer.train(resume_from_checkpoint=checkpoint)
    saved_generation = trainer.model.generation_config  # the trained model's: max_new_tokens, as run sets it

    precision = "fp16" if fp16 else "bf16" if bf16 else "fp32"
    results = {
        "model": cfg.model_name, "model_type": family, "task": "seq2seq", "plan_conditioned": not cfg.model_input.no_plan,
        "data": {"training_file": cfg.training_data, "train_rows": len(train_set),
                 "validation_rows": len(validation_set), "per_epoch_validation_rows": per_epoch_rows,
                 "validation_source": cfg.validation_data or f"seeded split {cfg.validation_split:g} (seed {cfg.seed})",
                 "truncated_train_inputs": truncated},
        "generation": generation_settings(trainer.model, cfg.num_beams, cfg.max_target_length),
        "run": run_summary(trainer, train_output, started, precision),
        "per_evaluation": evaluation_history(trainer.state.log_history),
    }
    if validation_records:
        results.update(final_evaluation(trainer, validation_set, validation_records, model_inputs, out,
                                         not cfg.no_model_metrics))
    results["run"]["wall_time_s"] = round(time.time() - started, 2)
    saved_generation.max_length, saved_generation.max_new_tokens = None, cfg.max_target_length
    save_run_files(trainer, effective_config(cfg, fp16=fp16, bf16=bf16, warmup_steps=args.warmup_steps), out, results)
    warn_if_collapsed(results.get("collapse", {}), out)
    return out
