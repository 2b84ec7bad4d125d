"""Text classification fine-tuning (AutoModelForSequenceClassification) on the shared Trainer machinery.

    text,label CSV/JSONL/XLSX -> labels from the data (label2id/id2label saved in the model config)
    -> stratified, duplicate-aware validation split -> Trainer (optionally class-weighted loss)
    -> best checkpoint by macro-F1 -> accuracy, macro/micro/weighted P/R/F1, per-class report,
       confusion matrix PNG, majority-class baseline

Output layout, callbacks, resume, precision and multi-process runs come from train/common.py, as
for summarization; what it shares with the tagger (train/tagging.py) is in train/encoder.py.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.models.loading import input_limit, quiet_progress_bars_off_terminal
from crashtransformer.train.common import duplicate_groups, prepare_output_dir, resolve_precision, split_by_index
from crashtransformer.train.encoder import base_results, best_model_metric, fit, save_results

# Label columns tried, in order, when --label_column is not given.
LABEL_COLUMN_ALIASES = ("label", "labels", "class", "category")
# Figures per evaluation; any of them (or loss) can pick the best checkpoint.
AVERAGES = ("macro", "micro", "weighted")
SCALAR_METRICS = ("accuracy",) + tuple(f"{a}_{m}" for a in AVERAGES for m in ("precision", "recall", "f1"))
DEFAULT_METRIC = "macro_f1"  # the seed guide's imbalanced-label advice: every class counts the same
TOP_K = 3  # labels with their probabilities kept per validation row


@dataclasses.dataclass
class LabelledText:
    crash_id: str
    text: str
    label: str
    row_number: int | None


# ----------------------------------------------------------------------------- reading


def _label_column(reader_columns: list[str], wanted: str | None, path) -> str:
    from crashtransformer.data.columns import column_key, find_column

    if wanted:
        found = find_column(reader_columns, (column_key(wanted),))
        if found is None:
            raise UserError(f"{path}: no column '{wanted}' (--label_column); columns found: {', '.join(reader_columns)}")
        return found
    found = find_column(reader_columns, LABEL_COLUMN_ALIASES)
    if found is None:
        raise UserError(f"{path}: no label column ({', '.join(LABEL_COLUMN_ALIASES)}); name it with --label_column "
                        f"(columns found: {', '.join(reader_columns)})")
    return found


def _label_value(record, columns, label_column: str) -> str:
    from crashtransformer.data.columns import metadata_name

    if columns.summary == label_column:  # a label column named like a summary ("target")
        value = record.summary
    else:
        value = record.metadata.get(columns.metadata.get(label_column, metadata_name(label_column)))
    if value is None or isinstance(value, float) and value != value:  # missing, or NaN from a spreadsheet
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 1.0 from XLSX is the label "1"
    return str(value).strip()


def read_labelled_file(path: str, data_format: str | None, text_column: str | None,
                       label_column: str | None) -> tuple[list[LabelledText], str]:
    """Rows with a text and a label, and the label column's name; unusable rows are skipped with a
    warning naming them, a file with none raises UserError."""
    from crashtransformer.data.records import Reject, RecordReader

    reader = RecordReader(path, data_format=data_format, text_column=text_column)
    rows, skipped, examples, column = [], Counter(), [], None
    for item in reader:
        if column is None:
            column = _label_column(list(reader.info.columns), label_column, path)
            if column == reader.columns.narrative:
                raise UserError(f"{path}: the label column '{column}' is also the text column; pass --text_column")
        if isinstance(item, Reject):
            skipped[item.reason] += 1
            examples.append(f"row {item.row_number}: {item.detail}")
            continue
        label = _label_value(item, reader.columns, column)
        if not label:
            skipped["missing_label"] += 1
            examples.append(f"row {item.row_number}: empty {column}")
            continue
        rows.append(LabelledText(item.crash_id, item.narrative, label, item.row_number))
    if skipped:
        log.warning("%s: skipped %d row(s) (%s); first: %s", path, sum(skipped.values()),
                    ", ".join(f"{k}={v}" for k, v in skipped.items()), "; ".join(examples[:3]))
    if not rows:
        raise UserError(f"{path}: no row with both a text and a label")
    return rows, column


def _narrative_key(text: str) -> str:
    return " ".join(text.split()).lower()


def stratified_split(rows: Sequence, labels: Sequence[str], fraction: float, seed: int,
                     key=lambda row: _narrative_key(row.text)) -> tuple[list, list]:
    """Seeded validation split keeping each label's share; rows with the same text stay on one side,
    and every label keeps at least one training row (a label seen once is never held out)."""
    groups = duplicate_groups(rows, fraction, key)
    if not groups:
        return list(rows), []
    by_label: dict[str, list[str]] = {}
    for group, members in groups.items():
        by_label.setdefault(labels[members[0]], []).append(group)
    rng = random.Random(seed)
    held_out: set[int] = set()
    for label in sorted(by_label):
        keys = by_label[label]
        rng.shuffle(keys)
        wanted = max(1, round(sum(len(groups[k]) for k in keys) * fraction))
        taken = 0
        for group in keys[:-1]:  # the last group always trains
            if taken >= wanted:
                break
            held_out.update(groups[group])
            taken += len(groups[group])
    return split_by_index(rows, held_out)


def load_labelled_data(cfg) -> tuple[list[LabelledText], list[LabelledText], str]:
    """Training and validation rows (stratified split, or --validation_data) and the label column."""
    if not cfg.training_data:
        raise UserError("missing --training_data FILE (CSV, JSONL or XLSX with a text and a label column)")
    rows, column = read_labelled_file(cfg.training_data, cfg.data_format, cfg.text_column, cfg.label_column)
    if cfg.validation_data:
        validation, _ = read_labelled_file(cfg.validation_data, cfg.data_format, cfg.text_column, column)
        unknown = sorted({r.label for r in validation} - {r.label for r in rows})
        if unknown:
            raise UserError(f"{cfg.validation_data}: label(s) {', '.join(map(repr, unknown))} never occur in "
                            f"{cfg.training_data}; the model cannot learn them")
        return rows, validation, column
    train_rows, validation = stratified_split(rows, [r.label for r in rows], cfg.validation_split, cfg.seed)
    return train_rows, validation, column


# ----------------------------------------------------------------------------- shared encoder helpers


def label_maps(labels: Sequence[str]) -> tuple[dict[str, int], dict[int, str]]:
    """label2id / id2label in sorted order, so the same data always gives the same ids."""
    names = sorted(set(labels))
    return {name: i for i, name in enumerate(names)}, dict(enumerate(names))


def balanced_class_weights(labels: Sequence[str], label2id: dict[str, int]) -> list[float]:
    """n_rows / (n_classes * rows of the class): sklearn's 'balanced' weights."""
    counts = Counter(labels)
    return [len(labels) / (len(label2id) * counts[name]) for name in label2id]


# ----------------------------------------------------------------------------- metrics


def classification_scores(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Accuracy and macro/micro/weighted precision, recall and F1."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    scores = {"accuracy": float(accuracy_score(y_true, y_pred))}
    for average in AVERAGES:
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        scores.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    return scores


def make_compute_metrics():
    def compute(eval_prediction) -> dict[str, float]:
        logits = eval_prediction.predictions[0] if isinstance(eval_prediction.predictions, tuple) \
            else eval_prediction.predictions
        return classification_scores(eval_prediction.label_ids, np.argmax(logits, axis=-1))

    return compute


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def plot_confusion_matrix(matrix: np.ndarray, names: list[str], path: Path) -> Path:
    """Row-normalised confusion matrix with the counts written in each cell."""
    import matplotlib

    matplotlib.use("Agg")  # headless servers and cron
    import matplotlib.pyplot as plt

    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix, dtype=float), where=rows > 0)
    size = max(5, 0.8 * len(names) + 2)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(names)), [n[:24] for n in names], rotation=45, ha="right")
    axes.set_yticks(range(len(names)), [n[:24] for n in names])
    for i in range(len(names)):
        for j in range(len(names)):
            axes.text(j, i, str(matrix[i, j]), ha="center", va="center", color="white" if share[i, j] > 0.5 else "black")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Confusion matrix (validation; colour = share of the true class)")
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def majority_baseline(train_labels: Sequence[str], validation_labels: Sequence[str], label2id: dict) -> dict:
    """What always answering the most frequent training label scores on the validation rows."""
    majority = Counter(train_labels).most_common(1)[0][0]
    scores = classification_scores([label2id[v] for v in validation_labels], [label2id[majority]] * len(validation_labels))
    return {"label": majority, "accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}


def final_evaluation(trainer, dataset, rows: Sequence[LabelledText], id2label: dict[int, str], out: Path,
                     train_labels: Sequence[str]) -> dict:
    """Predict the whole validation split with the best model: figures, per-class report,
    confusion matrix (JSON and PNG), per-row predictions, and the majority-class baseline."""
    from sklearn.metrics import classification_report, confusion_matrix

    output = trainer.predict(dataset, metric_key_prefix="eval")
    if not trainer.is_world_process_zero():
        return {}
    logits = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    probabilities = softmax(np.asarray(logits, dtype=np.float64)[:len(rows)])
    predicted = probabilities.argmax(axis=-1)
    label2id = {name: i for i, name in id2label.items()}
    truth = [label2id[r.label] for r in rows]
    names = [id2label[i] for i in range(len(id2label))]
    matrix = confusion_matrix(truth, predicted, labels=list(range(len(names))))
    plot = plot_confusion_matrix(matrix, names, out / "plots" / "confusion_matrix.png")
    with (out / "validation_predictions.jsonl").open("w", encoding="utf-8") as handle:
        for row, p in zip(rows, probabilities):
            top = np.argsort(-p)[:TOP_K]
            handle.write(json.dumps({"Crash_ID": row.crash_id, "label": row.label, "predicted_label": id2label[int(top[0])],
                                     "confidence": round(float(p[top[0]]), 4),
                                     "top_k": [{"label": id2label[int(i)], "score": round(float(p[i]), 4)} for i in top]})
                         + "\n")
    metrics = {"loss": output.metrics.get("eval_loss"), **classification_scores(truth, predicted)}
    log.info("validation (%d rows): accuracy %.4f, macro-F1 %.4f, weighted-F1 %.4f", len(rows), metrics["accuracy"],
             metrics["macro_f1"], metrics["weighted_f1"])
    return {"metrics": metrics,
            "per_class": classification_report(truth, predicted, labels=list(range(len(names))), target_names=names,
                                               output_dict=True, zero_division=0),
            "confusion_matrix": {"labels": names, "rows_true_columns_predicted": matrix.tolist()},
            "baseline_majority_class": majority_baseline(train_labels, [r.label for r in rows], label2id),
            "confusion_matrix_plot": str(plot.relative_to(out))}


# ----------------------------------------------------------------------------- training


def encode_texts(texts: Sequence[str], label_ids: Sequence[int], tokenizer, max_length: int):
    """A datasets.Dataset of token ids, labels and lengths (for length-grouped batches)."""
    from datasets import Dataset

    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    columns = {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded}
    truncated = sum(len(ids) >= max_length for ids in encoded["input_ids"])
    return Dataset.from_dict({**columns, "labels": list(label_ids),
                              "length": [len(ids) for ids in encoded["input_ids"]]}), truncated


def train_classification(cfg) -> Path:
    """Fine-tune a sequence classifier as `cfg` says; return the output directory."""
    from transformers import DataCollatorWithPadding

    from crashtransformer.models.loading import load_config, load_model, load_tokenizer

    started = time.time()
    quiet_progress_bars_off_terminal()
    metric = best_model_metric(cfg.metric_for_best_model, SCALAR_METRICS, DEFAULT_METRIC, "classification")
    cfg = dataclasses.replace(cfg, metric_for_best_model=metric)
    out, checkpoint = prepare_output_dir(cfg)
    base_config = load_config(cfg.model_name, cfg.loading.trust_remote_code, cfg.loading.allow_pickle)
    family = str(base_config.model_type)
    fp16, bf16 = resolve_precision(cfg.fp16, cfg.bf16, family)

    train_rows, validation_rows, label_column = load_labelled_data(cfg)
    label2id, id2label = label_maps([r.label for r in train_rows])
    if len(label2id) < 2:
        raise UserError(f"{cfg.training_data}: only one label ({next(iter(label2id))!r}) in column {label_column}; "
                        "a classifier needs at least two")
    log.info("data: %d training rows, %d validation rows, %d labels from column %s: %s", len(train_rows),
             len(validation_rows), len(label2id), label_column,
             ", ".join(f"{k}={v}" for k, v in Counter(r.label for r in train_rows).most_common()))

    tokenizer = load_tokenizer(cfg.model_name, cfg.loading.trust_remote_code)
    model = load_model(cfg.model_name, "classification", cfg.loading.trust_remote_code, cfg.loading.allow_pickle,
                       num_labels=len(label2id), label2id=label2id, id2label=id2label,
                       ignore_mismatched_sizes=True)  # a classifier of other labels gets a new head
    model.config.label_column = label_column  # `run` reads the reference label from this column when present
    max_length = input_limit(model.config, cfg.model_input.max_length, tokenizer)
    train_set, truncated = encode_texts([r.text for r in train_rows], [label2id[r.label] for r in train_rows],
                                        tokenizer, max_length)
    validation_set, _ = encode_texts([r.text for r in validation_rows],
                                     [label2id[r.label] for r in validation_rows], tokenizer, max_length)
    if truncated:
        log.info("%d of %d training texts were longer than %d tokens and were cut", truncated, len(train_set), max_length)

    weights = None
    if cfg.class_weights == "balanced":
        weights = balanced_class_weights([r.label for r in train_rows], label2id)
        log.info("class weights (balanced): %s", ", ".join(f"{id2label[i]}={w:.3g}" for i, w in enumerate(weights)))
    done = fit(cfg, out, checkpoint, model, tokenizer,
               DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if (fp16 or bf16) else None),
               train_set, validation_set if validation_rows else None, make_compute_metrics(),
               fp16=fp16, bf16=bf16, family=family, started=started, class_weights=weights)

    results = base_results(cfg, done, train_rows=len(train_set), validation_rows=len(validation_set),
                           max_length=max_length, truncated=truncated,
                           validation_source=f"stratified split {cfg.validation_split:g} (seed {cfg.seed})")
    results["labels"] = {"column": label_column, "label2id": label2id, "class_weights": weights,
                         "train_counts": dict(Counter(r.label for r in train_rows).most_common())}
    if validation_rows:
        results.update(final_evaluation(done.trainer, validation_set, validation_rows, id2label, out,
                                        [r.label for r in train_rows]))
    save_results(cfg, done, out, results, max_length)
    return out
