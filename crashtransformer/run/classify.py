"""`run` with a classification or tagging model: a label with its confidence, or entities, per crash.

run/pipeline.py picks this processor when the model's config says it is a sequence or token
classifier (models.loading.model_task); the user never re-types the task. Streaming, resume, the lock,
rejects and the report are the pipeline's, as for summaries. Each crash_summaries.jsonl row holds

    classification: predicted_label, confidence, top_k [{label, score}], reference_label (when the
                    input has the column the model was trained on, e.g. MANCOLL_LABEL)
    ner:            entities [{label, start, end, text, score}], character offsets into the
                    narrative as `run` reads it (whitespace normalised, mojibake repaired)

and summaries_metrics.csv gets the matching flat columns.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from crashtransformer.core.logs import log
from crashtransformer.metrics.text import word_count

ENCODER_TASKS = ("classification", "ner")
TOP_K = 3  # labels (with probabilities) kept per crash
NER_AGGREGATION = "first"  # a word's tag is its first sub-token's, as in training
NER_STRIDE_FRACTION = 8  # long narratives are tagged in windows overlapping by max_length / 8 tokens
SHOWN_IN_LOG = 10  # the first crashes' labels/entities go to the log (IDs and labels only, never narratives)

CLASSIFICATION_COLUMNS = ("Crash_ID", "source_file", "narrative_words", "predicted_label", "confidence",
                          "reference_label", "correct")
NER_COLUMNS = ("Crash_ID", "source_file", "narrative_words", "entity_count", "entity_labels")


def _task_config(model_dir: str, trust_remote_code: bool):
    """The model's config (its architectures at least), or None where the summarizer's loader must judge."""
    from crashtransformer.models.loading import load_config

    config_file = Path(model_dir) / "config.json"
    if config_file.is_file():
        try:
            architectures = json.loads(config_file.read_text(encoding="utf-8")).get("architectures")
        except (OSError, ValueError, AttributeError):
            return None  # not ours to judge: the summarizer's loader reports what is wrong
        return SimpleNamespace(architectures=architectures)
    if Path(model_dir).exists():
        return None
    return load_config(model_dir, trust_remote_code)


def encoder_task(model_dir: str, trust_remote_code: bool = False) -> str | None:
    """classification or ner when the model is one (read from its config.json), else None."""
    from crashtransformer.models.loading import model_task

    config = _task_config(model_dir, trust_remote_code)
    task = model_task(config) if config is not None else None
    return task if task in ENCODER_TASKS else None


def require_generating_model(model_dir: str, trust_remote_code: bool = False) -> None:
    """Refuse a classifier or tagger for a backend that only generates (CTranslate2), before the
    run takes its lock or writes a header: the refusal leaves the output directory as it was."""
    from crashtransformer.models.loading import require_seq2seq

    config = _task_config(model_dir, trust_remote_code)
    if config is not None:
        require_seq2seq(config, model_dir)


class EncoderProcessor:
    """Holds a transformers pipeline for the model's task; turns crash records into artifact rows."""

    backend_name = "transformers pipeline"
    quantization = "none"
    last_generated_tokens = 0  # nothing is generated; the report's token counts stay 0

    def __init__(self, pipe, task: str, model_dir: str, *, batch_size: int, max_length: int, device, dtype):
        self.pipe, self.task, self.model_dir = pipe, task, model_dir
        self.model = pipe.model
        self.family = str(self.model.config.model_type)
        self.batch_size, self.max_length, self.device, self.dtype = batch_size, max_length, device, dtype
        self.label_column = getattr(self.model.config, "label_column", None)
        self.metric_columns = CLASSIFICATION_COLUMNS if task == "classification" else NER_COLUMNS
        self.shown = 0

    @classmethod
    def from_config(cls, cfg, model_dir: str, task: str) -> "EncoderProcessor":
        from transformers import pipeline

        from crashtransformer.core.runtime import default_batch_size, pick_device, pick_dtype
        from crashtransformer.models.loading import input_limit, load_model, load_tokenizer

        device = pick_device(cfg.device)
        dtype = pick_dtype(device, cfg.generation.dtype)
        model = load_model(model_dir, task, trust_remote_code=cfg.loading.trust_remote_code,
                           allow_pickle=cfg.loading.allow_pickle)
        model.to(device)
        if device.type == "cuda":
            model.to(dtype)
        tokenizer = load_tokenizer(model_dir, trust_remote_code=cfg.loading.trust_remote_code)
        max_length = input_limit(model.config, cfg.model_input.max_length)  # the one input-length cap
        tokenizer.model_max_length = max_length  # the token-classification pipeline windows by this
        if task == "classification":
            pipe = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device)
        else:
            pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, device=device,
                            aggregation_strategy=NER_AGGREGATION, stride=max(max_length // NER_STRIDE_FRACTION, 1))
        batch_size = cfg.generation.batch_size or default_batch_size(device)
        log.info("%s model on %s, batch size %d, max length %d", task, device, batch_size, max_length)
        return cls(pipe, task, model_dir, batch_size=batch_size, max_length=max_length, device=device, dtype=dtype)

    # ------------------------------------------------------------------ steps

    def process(self, records: list, source: str, digest: str, on_progress=None) -> tuple[list[dict], list[dict]]:
        """No crash graphs (crash_graphs.jsonl stays empty); one result row per crash. (A chunk
        is one pipeline call: `on_progress` hears nothing before it ends.)"""
        texts = [r.narrative for r in records]
        if self.task == "classification":
            outputs = self.pipe(texts, batch_size=self.batch_size, top_k=TOP_K, truncation=True,
                                max_length=self.max_length)
            rows = [self._label_row(record, output) for record, output in zip(records, outputs)]
        else:
            outputs = self.pipe(texts, batch_size=self.batch_size)
            rows = [self._entity_row(record, output) for record, output in zip(records, outputs)]
        for row, record in zip(rows, records):
            row.update({"source_file": source, "source_sha256": digest, "row_number": record.row_number})
        self._show(rows)
        return [], rows

    def _show(self, rows: list[dict]) -> None:
        for row in rows[:max(SHOWN_IN_LOG - self.shown, 0)]:
            if self.task == "classification":
                log.info("%s: %s (confidence %.3f)", row["Crash_ID"], row["predicted_label"], row["confidence"])
            else:
                log.info("%s: %s", row["Crash_ID"], ", ".join(f"{e['label']} {e['start']}-{e['end']}"
                                                           for e in row["entities"]) or "no entities")
            self.shown += 1

    def _reference_label(self, record) -> str | None:
        from crashtransformer.data.columns import metadata_name

        if not self.label_column:
            return None
        value = record.metadata.get(metadata_name(self.label_column))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip() if value is not None and str(value).strip() else None

    def _label_row(self, record, output: list[dict]) -> dict:
        top = [{"label": o["label"], "score": round(float(o["score"]), 4)} for o in output]
        reference = self._reference_label(record)
        metrics = {"narrative_words": word_count(record.narrative), "predicted_label": top[0]["label"],
                   "confidence": top[0]["score"], "reference_label": reference,
                   "correct": None if reference is None else top[0]["label"] == reference}
        return {"Crash_ID": record.crash_id, "task": "classification", "predicted_label": top[0]["label"],
                "confidence": top[0]["score"], "top_k": top, "reference_label": reference, "metrics": metrics}

    def _entity_row(self, record, output: list[dict]) -> dict:
        entities = [{"label": o["entity_group"], "start": int(o["start"]), "end": int(o["end"]),
                     "text": record.narrative[int(o["start"]):int(o["end"])], "score": round(float(o["score"]), 4)}
                    for o in output]
        counts = Counter(e["label"] for e in entities)
        metrics = {"narrative_words": word_count(record.narrative), "entity_count": len(entities),
                   "entity_labels": ";".join(f"{k}={v}" for k, v in sorted(counts.items()))}
        return {"Crash_ID": record.crash_id, "task": "ner", "entities": entities, "metrics": metrics}

    # ------------------------------------------------------------------ report

    def report_sections(self, out_dir: Path, seed: int | None = None) -> dict:
        """model, device, inference settings and figures over every crash in the directory."""
        from crashtransformer.run.artifacts import SUMMARIES
        from crashtransformer.run.state import iter_jsonl

        rows = [row for row in iter_jsonl(Path(out_dir) / SUMMARIES) if row.get("task") == self.task]
        config = self.model.config
        return {
            "model": {"directory": self.model_dir, "task": self.task, "model_type": self.family,
                      "parameters": self.model.num_parameters(), "backend": self.backend_name,
                      "labels": [config.id2label[i] for i in sorted(config.id2label)]},
            "device": {"device": str(self.device), "dtype": str(self.dtype).replace("torch.", ""),
                       "batch_size": self.batch_size},
            "inference": {"max_length": self.max_length, "top_k": TOP_K if self.task == "classification" else None,
                          "aggregation": NER_AGGREGATION if self.task == "ner" else None,
                          "reference_label_column": self.label_column},
            "metrics": classification_figures(rows) if self.task == "classification" else entity_figures(rows),
        }


def classification_figures(rows: list[dict]) -> dict:
    """Predicted label counts, mean confidence and, where the input had references, accuracy and macro-F1."""
    figures: dict = {"crashes": len(rows),
                     "predicted_labels": dict(Counter(r["predicted_label"] for r in rows).most_common()),
                     "confidence_mean": round(sum(r["confidence"] for r in rows) / len(rows), 4) if rows else None}
    scored = [r for r in rows if r.get("reference_label") is not None]
    figures["with_reference"] = len(scored)
    if scored:
        from sklearn.metrics import accuracy_score, f1_score

        truth, predicted = [r["reference_label"] for r in scored], [r["predicted_label"] for r in scored]
        figures["accuracy"] = round(float(accuracy_score(truth, predicted)), 4)
        figures["macro_f1"] = round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4)
    return figures


def entity_figures(rows: list[dict]) -> dict:
    counts = Counter(e["label"] for r in rows for e in r["entities"])
    return {"crashes": len(rows), "entities": dict(counts.most_common()),
            "entities_per_crash": round(sum(counts.values()) / len(rows), 3) if rows else None}
