"""Token tagging (named entities) fine-tuning: BIO tags from character-span annotations.

    {"text": ..., "spans": [{"start", "end", "label"}]}   (JSONL; CSV with a JSON spans column works too;
                                                            prepare-data's synthetic JSONL keeps them in metadata)
    -> words from the fast tokenizer, each word B-/I-<label> when it starts inside a span, else O
    -> the first sub-token of a word carries its tag; later sub-tokens and specials get -100
    -> Trainer (shared machinery) -> entity-level precision/recall/F1 as seqeval counts them

Spans are validated (integers, inside the text, a label) and a row with a bad span is skipped
with a warning naming the row; overlapping spans cannot be BIO-tagged, so the later one is dropped.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.models.loading import input_limit, quiet_progress_bars_off_terminal
from crashtransformer.train.common import prepare_output_dir, resolve_precision, split_validation
from crashtransformer.train.encoder import base_results, best_model_metric, fit, save_results

ENTITY_METRICS = ("precision", "recall", "f1", "accuracy")  # entity P/R/F1 (seqeval) and token accuracy
DEFAULT_METRIC = "f1"
IGNORE = -100  # label of sub-tokens after the first and of special tokens: no loss, not scored


@dataclasses.dataclass
class TaggedText:
    crash_id: str
    text: str
    spans: list[tuple[int, int, str]]  # (start, end, label), sorted, non-overlapping
    row_number: int | None


class SpanError(ValueError):
    """A span annotation that cannot be used; the message names the field at fault."""


# ----------------------------------------------------------------------------- reading


def parse_spans(value: Any, text: str) -> tuple[list[tuple[int, int, str]], int]:
    """Validated spans of one row, sorted, overlaps removed; and how many overlapping ones were dropped."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise SpanError(f"spans is not valid JSON ({exc.msg})") from None
    if not isinstance(value, list):
        raise SpanError(f"spans must be a list of {{start, end, label}}, got {type(value).__name__}")
    spans = []
    for number, span in enumerate(value, start=1):
        if not isinstance(span, dict):
            raise SpanError(f"span {number} is a {type(span).__name__}, expected {{start, end, label}}")
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            raise SpanError(f"span {number}: start and end must be integers (got {start!r}, {end!r})")
        if not 0 <= start < end <= len(text):
            raise SpanError(f"span {number}: [{start}, {end}) is not inside the text ({len(text)} characters)")
        if not isinstance(label, str) or not label.strip():
            raise SpanError(f"span {number}: no label")
        spans.append((start, end, label.strip()))
    kept: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if kept and span[0] < kept[-1][1]:
            continue  # overlaps the previous one: BIO has one tag per word
        kept.append(span)
    return kept, len(spans) - len(kept)


def read_tagged_file(path: str, data_format: str | None, text_column: str | None) -> list[TaggedText]:
    """Rows with a text and span annotations (`spans`, top level or in metadata). The text is read
    exactly as written (no cleaning), so character offsets stay right."""
    from crashtransformer.data.records import Reject, RecordReader
    from crashtransformer.core.io import unneutralize

    reader = RecordReader(path, data_format=data_format, text_column=text_column, raw_text=True)
    rows, skipped, examples, overlaps = [], Counter(), [], 0
    for item in reader:
        if isinstance(item, Reject):
            skipped[item.reason] += 1
            examples.append(f"row {item.row_number}: {item.detail}")
            continue
        if "spans" not in item.metadata:
            skipped["no_spans"] += 1
            examples.append(f"row {item.row_number}: no spans field")
            continue
        text = unneutralize(item.narrative)
        shift = len(item.narrative) - len(text)  # a CSV cell neutralised against formulas has one more character
        try:
            spans, dropped = parse_spans(item.metadata["spans"], item.narrative)
        except SpanError as exc:
            skipped["bad_spans"] += 1
            examples.append(f"row {item.row_number} ({item.crash_id}): {exc}")
            continue
        overlaps += dropped
        spans = [(max(s - shift, 0), e - shift, label) for s, e, label in spans]
        rows.append(TaggedText(item.crash_id, text, spans, item.row_number))
    if skipped:
        log.warning("%s: skipped %d row(s) (%s); first: %s", path, sum(skipped.values()),
                    ", ".join(f"{k}={v}" for k, v in skipped.items()), "; ".join(examples[:3]))
    if overlaps:
        log.warning("%s: dropped %d span(s) overlapping an earlier one (BIO tags one entity per word)", path, overlaps)
    if not rows:
        raise UserError(f"{path}: no row with a text and a spans field ([{{\"start\", \"end\", \"label\"}}, ...])")
    return rows


def load_tagged_data(cfg) -> tuple[list[TaggedText], list[TaggedText]]:
    if not cfg.training_data:
        raise UserError("missing --training_data FILE (JSONL with text and spans; prepare-data --source synthetic "
                        "writes one)")
    rows = read_tagged_file(cfg.training_data, cfg.data_format, cfg.text_column)
    if cfg.validation_data:
        return rows, read_tagged_file(cfg.validation_data, cfg.data_format, cfg.text_column)
    return split_validation(rows, cfg.validation_split, cfg.seed, key=lambda r: " ".join(r.text.split()).lower())


# ----------------------------------------------------------------------------- tags


def bio_tags(rows: Sequence[TaggedText]) -> list[str]:
    """O, then B-/I- for every entity type in the data, in sorted order."""
    types = sorted({label for row in rows for _, _, label in row.spans})
    return ["O"] + [f"{prefix}-{t}" for t in types for prefix in ("B", "I")]


def word_spans(offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None]) -> dict[int, tuple[int, int, int]]:
    """word id -> (first token index, start char, end char) from a fast tokenizer's encoding."""
    words: dict[int, tuple[int, int, int]] = {}
    for index, (word, (start, end)) in enumerate(zip(word_ids, offsets)):
        if word is None:
            continue
        if word not in words:
            words[word] = (index, start, end)
        else:
            words[word] = (words[word][0], words[word][1], end)
    return words


def word_tags(words: dict[int, tuple[int, int, int]], spans: Sequence[tuple[int, int, str]]) -> dict[int, str]:
    """BIO tag of each word: B- for the first word starting inside a span, I- for the next ones."""
    tags, span_index, previous_span = {}, 0, None
    for word in sorted(words):
        _, start, _ = words[word]
        while span_index < len(spans) and spans[span_index][1] <= start:
            span_index += 1
        inside = span_index < len(spans) and spans[span_index][0] <= start < spans[span_index][1]
        if inside:
            tags[word] = ("I-" if previous_span == span_index else "B-") + spans[span_index][2]
            previous_span = span_index
        else:
            tags[word] = "O"
            previous_span = None
    return tags


def align_labels(encoding, spans: Sequence[tuple[int, int, str]], tag2id: dict[str, int]) -> list[int]:
    """Token labels: the word's tag id on its first sub-token, -100 elsewhere."""
    words = word_spans(encoding.offsets, encoding.word_ids)
    tags = word_tags(words, spans)
    labels = [IGNORE] * len(encoding.ids)
    for word, (first_token, _, _) in words.items():
        labels[first_token] = tag2id[tags[word]]
    return labels


def tags_to_entities(text: str, words: dict[int, tuple[int, int, int]], tags: dict[int, str]) -> list[dict]:
    """Entities with character offsets from word tags (an I- without a B- starts an entity, as seqeval does)."""
    entities: list[dict] = []
    current = None
    for word in sorted(words):
        tag = tags.get(word, "O")
        _, start, end = words[word]
        kind = tag[2:] if tag != "O" else None
        if kind and tag.startswith("I-") and current and current["label"] == kind:
            current["end"] = end
            continue
        if current:
            entities.append(current)
        current = {"label": kind, "start": start, "end": end} if kind else None
    if current:
        entities.append(current)
    for entity in entities:
        entity["text"] = text[entity["start"]:entity["end"]]
    return entities


def encode_tagged(rows: Sequence[TaggedText], tokenizer, max_length: int, tag2id: dict[str, int]):
    """A datasets.Dataset of token ids and aligned labels; the per-row word spans; rows truncated."""
    from datasets import Dataset

    if not getattr(tokenizer, "is_fast", False):
        raise UserError("--task ner needs a fast tokenizer (tokenizer.json) for character offsets; this model has none")
    encoded = tokenizer([r.text for r in rows], truncation=True, max_length=max_length)
    labels, words = [], []
    for index, row in enumerate(rows):
        encoding = encoded.encodings[index]
        labels.append(align_labels(encoding, row.spans, tag2id))
        words.append(word_spans(encoding.offsets, encoding.word_ids))
    columns = {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded}
    truncated = sum(len(ids) >= max_length for ids in encoded["input_ids"])
    dataset = Dataset.from_dict({**columns, "labels": labels, "length": [len(i) for i in encoded["input_ids"]]})
    return dataset, words, truncated


# ----------------------------------------------------------------------------- metrics


def tag_sequences(predictions: np.ndarray, label_ids: np.ndarray, id2tag: dict[int, str]) -> tuple[list, list]:
    """Gold and predicted tag sequences over the scored positions (first sub-tokens) of each row."""
    truth, predicted = [], []
    for row_predictions, row_labels in zip(predictions, label_ids):
        keep = row_labels != IGNORE
        truth.append([id2tag[int(i)] for i in row_labels[keep]])
        predicted.append([id2tag[int(i)] for i in row_predictions[keep]])
    return truth, predicted


def entity_scores(truth: list[list[str]], predicted: list[list[str]]) -> dict[str, float]:
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score

    return {"precision": float(precision_score(truth, predicted, zero_division=0)),
            "recall": float(recall_score(truth, predicted, zero_division=0)),
            "f1": float(f1_score(truth, predicted, zero_division=0)),
            "accuracy": float(accuracy_score(truth, predicted))}


def make_compute_metrics(id2tag: dict[int, str]):
    def compute(eval_prediction) -> dict[str, float]:
        logits = eval_prediction.predictions[0] if isinstance(eval_prediction.predictions, tuple) \
            else eval_prediction.predictions
        return entity_scores(*tag_sequences(np.argmax(logits, axis=-1), eval_prediction.label_ids, id2tag))

    return compute


def final_evaluation(trainer, dataset, rows: Sequence[TaggedText], words: list, id2tag: dict[int, str],
                     out: Path) -> dict:
    """Tag the whole validation split with the best model: entity P/R/F1, a per-type report, and the
    predicted entities (character offsets) per row in validation_predictions.jsonl."""
    from seqeval.metrics import classification_report

    output = trainer.predict(dataset, metric_key_prefix="eval")
    if not trainer.is_world_process_zero():
        return {}
    logits = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    predictions = np.argmax(logits, axis=-1)[:len(rows)]
    label_ids = output.label_ids[:len(rows)]
    truth, predicted = tag_sequences(predictions, label_ids, id2tag)
    with (out / "validation_predictions.jsonl").open("w", encoding="utf-8") as handle:
        for row, row_words, row_predictions in zip(rows, words, predictions):
            tags = {word: id2tag[int(row_predictions[first])] for word, (first, _, _) in row_words.items()}
            handle.write(json.dumps({"Crash_ID": row.crash_id,
                                     "entities": tags_to_entities(row.text, row_words, tags),
                                     "reference_entities": [{"label": l, "start": s, "end": e} for s, e, l in row.spans]},
                                    ensure_ascii=False) + "\n")
    metrics = {"loss": output.metrics.get("eval_loss"), **entity_scores(truth, predicted)}
    log.info("validation (%d rows): entity precision %.4f, recall %.4f, F1 %.4f", len(rows), metrics["precision"],
             metrics["recall"], metrics["f1"])
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    return {"metrics": metrics,
            "per_entity_type": {k: {m: float(v) for m, v in scores.items()} for k, scores in report.items()}}


# ----------------------------------------------------------------------------- training


def train_ner(cfg) -> Path:
    """Fine-tune a token tagger as `cfg` says; return the output directory."""
    from transformers import DataCollatorForTokenClassification

    from crashtransformer.models.loading import load_config, load_model, load_tokenizer

    started = time.time()
    quiet_progress_bars_off_terminal()
    metric = best_model_metric(cfg.metric_for_best_model, ENTITY_METRICS, DEFAULT_METRIC, "ner")
    cfg = dataclasses.replace(cfg, metric_for_best_model=metric)
    if cfg.class_weights != "none":
        raise UserError("--class_weights is for --task classification")
    out, checkpoint = prepare_output_dir(cfg)
    family = str(load_config(cfg.model_name, cfg.loading.trust_remote_code, cfg.loading.allow_pickle).model_type)
    fp16, bf16 = resolve_precision(cfg.fp16, cfg.bf16, family)

    train_rows, validation_rows = load_tagged_data(cfg)
    tags = bio_tags(train_rows)
    tag2id, id2tag = {t: i for i, t in enumerate(tags)}, dict(enumerate(tags))
    unknown = {label for row in validation_rows for _, _, label in row.spans} - {t[2:] for t in tags if t != "O"}
    if unknown:
        raise UserError(f"validation entity type(s) {', '.join(sorted(unknown))} never occur in the training rows")
    log.info("data: %d training rows, %d validation rows; entities %s", len(train_rows), len(validation_rows),
             ", ".join(f"{k}={v}" for k, v in Counter(l for r in train_rows for _, _, l in r.spans).most_common()))

    tokenizer = load_tokenizer(cfg.model_name, cfg.loading.trust_remote_code)
    model = load_model(cfg.model_name, "ner", cfg.loading.trust_remote_code, cfg.loading.allow_pickle, num_labels=len(tags),
                       label2id=tag2id, id2label=id2tag, ignore_mismatched_sizes=True)
    max_length = input_limit(model.config, cfg.model_input.max_length, tokenizer)
    train_set, _, truncated = encode_tagged(train_rows, tokenizer, max_length, tag2id)
    validation_set, validation_words, _ = encode_tagged(validation_rows, tokenizer, max_length, tag2id)
    if truncated:
        log.info("%d of %d training texts were longer than %d tokens: words past the cut are not tagged",
                 truncated, len(train_set), max_length)

    done = fit(cfg, out, checkpoint, model, tokenizer,
               DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE,
                                                  pad_to_multiple_of=8 if (fp16 or bf16) else None),
               train_set, validation_set if validation_rows else None, make_compute_metrics(id2tag),
               fp16=fp16, bf16=bf16, family=family, started=started)

    results = base_results(cfg, done, train_rows=len(train_set), validation_rows=len(validation_set),
                           max_length=max_length, truncated=truncated,
                           validation_source=f"seeded split {cfg.validation_split:g} (seed {cfg.seed})")
    results["tags"] = tags
    if validation_rows:
        results.update(final_evaluation(done.trainer, validation_set, validation_rows, validation_words, id2tag, out))
    save_results(cfg, done, out, results, max_length)
    return out
