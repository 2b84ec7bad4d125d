"""Load any Hugging Face model by hub id or local path, safely (building new ones: models/building.py).

Loading rules (DESIGN, "Safe loading" and "Offline by default"):
- a local directory is used as is; weights must be safetensors unless allow_pickle;
- a hub id is only fetched when the hub can be reached; otherwise one clear UserError;
- trust_remote_code stays off unless the caller turns it on.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from crashtransformer.core.errors import UserError
from crashtransformer.core import hub
from crashtransformer.core.hub import ModelSource, offline_message
from crashtransformer.core.logs import log
from crashtransformer.models.integrity import check_model_files, require_tokenizer
from crashtransformer.models.shipped import shipped_model_dir


# ----------------------------------------------------------------------------- loading


def shipped_model_hint() -> str:
    """The shipped default model, offered when a hub id cannot be had offline (when it is here)."""
    directory = shipped_model_dir()
    return f"the shipped default summarization model {directory}" if (directory / "config.json").is_file() else ""


def locate_model(name_or_path: str, allow_pickle: bool = False) -> ModelSource:
    """core.hub.locate_model, whose offline error offers the shipped default model; a local folder's
    files are checked first (models/integrity.py), so a damaged one is named before a loader trips on it."""
    source = hub.locate_model(name_or_path, allow_pickle, local_hint=shipped_model_hint())
    if Path(source.location).is_dir():
        check_model_files(source.location)
    return source


def _from_pretrained(loader, source: ModelSource, **kwargs):
    from safetensors import SafetensorError

    try:
        return loader.from_pretrained(source.location, local_files_only=source.local_files_only, **kwargs)
    except UserError:
        raise
    except (OSError, ValueError, SafetensorError) as exc:
        if source.local_files_only and not Path(source.location).is_dir():
            raise UserError(offline_message(source.name, shipped_model_hint())) from None
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = ""
        if isinstance(exc, SafetensorError):
            hint = " (the weights file is truncated or corrupt: copy it again)"
        elif "custom code" in first_line and not kwargs.get("trust_remote_code"):
            hint = " Not run: pass --trust_remote_code only if you trust that code."
        raise UserError(f"cannot load '{source.name}' with {loader.__name__}: {first_line}{hint}") from None


def load_config(name_or_path: str, trust_remote_code: bool = False, allow_pickle: bool = False):
    from transformers import AutoConfig

    source = locate_model(name_or_path, allow_pickle)
    return _from_pretrained(AutoConfig, source, trust_remote_code=trust_remote_code)


def load_tokenizer(name_or_path: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    source = locate_model(name_or_path, allow_pickle=True)  # tokenizers carry no weights
    directory = Path(source.location)
    if directory.is_dir():
        require_tokenizer(directory)
    return _from_pretrained(AutoTokenizer, source, trust_remote_code=trust_remote_code)


def quiet_progress_bars_off_terminal() -> None:
    """Off a terminal (cron, log files) library progress bars are noise: the log lines say it all."""
    if not sys.stderr.isatty():
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def load_model(name_or_path: str, task: str = "seq2seq", trust_remote_code: bool = False,
               allow_pickle: bool = False, **kwargs):
    """Load a model for `task` (seq2seq | classification | ner) with safe defaults."""
    import transformers

    quiet_progress_bars_off_terminal()  # transformers 5 draws a "Loading weights" bar

    loader = {
        "seq2seq": transformers.AutoModelForSeq2SeqLM,
        "classification": transformers.AutoModelForSequenceClassification,
        "ner": transformers.AutoModelForTokenClassification,
    }[task]
    source = locate_model(name_or_path, allow_pickle)
    if task == "seq2seq":  # AutoModelForSeq2SeqLM would put a new LM head on a BART classifier's body
        require_seq2seq(_from_pretrained(transformers.AutoConfig, source, trust_remote_code=trust_remote_code),
                        name_or_path)
    model = _from_pretrained(
        loader,
        source,
        trust_remote_code=trust_remote_code,
        use_safetensors=None if allow_pickle else True,
        **kwargs,
    )
    log.info("loaded %s model from %s (%s, %.1fM parameters)", task, source.location,
             model.config.model_type, model.num_parameters() / 1e6)
    return model


DEFAULT_INPUT_TOKENS = 512  # without --max_length: the model's own limit, at most this


def input_limit(config, requested: int | None, tokenizer=None) -> int:
    """Input tokens: `requested`, or by default the model's limit (at most DEFAULT_INPUT_TOKENS),
    capped at the model's learned position table (BART, Pegasus, BERT) and the tokenizer's own
    maximum: a longer input would index past the table. Models without one (T5) take what is asked."""
    limits = [getattr(config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    limit = min([n for n in limits if isinstance(n, int) and 0 < n < 100_000] or [requested or DEFAULT_INPUT_TOKENS])
    if requested is None:
        return min(limit, DEFAULT_INPUT_TOKENS)
    if requested > limit:
        log.info("--max_length %d exceeds the model's %d positions: inputs are cut to %d tokens", requested, limit, limit)
        return limit
    return requested


def model_task(config) -> str:
    """Which of our tasks a model config belongs to: seq2seq, classification or ner."""
    architectures = " ".join(getattr(config, "architectures", None) or [])
    if "TokenClassification" in architectures:
        return "ner"
    if "SequenceClassification" in architectures:
        return "classification"
    return "seq2seq"


TASK_NAMES = {"classification": "sequence-classification", "ner": "token-classification", "seq2seq": "seq2seq"}


def not_seq2seq(config, where: str) -> str | None:
    """What a classifier or tagger is, said when it is given where a summarizer belongs; None for a summarizer."""
    task = model_task(config)
    if task == "seq2seq":
        return None
    architectures = ", ".join(getattr(config, "architectures", None) or [])
    return f"{where} holds a {TASK_NAMES[task]} model (architectures: {architectures}), not a seq2seq model"


def require_seq2seq(config, where: str) -> None:
    """Refuse a classifier or tagger where a summarizer belongs, in place of a loader's
    'Unrecognized configuration class' (BERT) or a silent new, untrained LM head (BART)."""
    problem = not_seq2seq(config, where)
    if problem:
        task = model_task(config)
        raise UserError(f"{problem}: summarizing needs one (a `train --task seq2seq` output); a model like this "
                        f"one runs with `run --backend torch` and trains with `train --task {task}`")


PROVENANCE_FILE = "provenance.json"  # how a packaged model was made (bench/bench_default_model.py package)


def read_provenance(model_dir: str | os.PathLike) -> dict | None:
    """The model's provenance record, when its directory carries one."""
    path = Path(model_dir) / PROVENANCE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("unreadable %s: %s", path, exc)
        return None


def describe_provenance(record: dict) -> str:
    """One log line: what the model is and how it was trained."""
    stages = record.get("stages", [])
    data = stages[0].get("training_data") if stages else None
    return (f"{record.get('description', 'model')}; packaged {record.get('packaged', '?')}, "
            f"{len(stages)} training stage(s) on {data or '?'}, recipe {record.get('recipe', '?')}")
