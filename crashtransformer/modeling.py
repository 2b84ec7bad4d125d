"""Load any Hugging Face model by hub id or local path, safely; build small local models.

Loading rules (DESIGN, "Safe loading" and "Offline by default"):
- a local directory is used as is; weights must be safetensors unless allow_pickle;
- a hub id is only fetched when the hub can be reached; otherwise one clear UserError;
- trust_remote_code stays off unless the caller turns it on.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import urlparse

from crashtransformer.errors import UserError
from crashtransformer.logs import log

PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
# A tokenizer directory holds at least one of these; without them transformers v5 quietly builds
# an empty tokenizer from config.json, and every summary would be nonsense.
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model", "source.spm")

# ----------------------------------------------------------------------------- locating


def _looks_like_path(name: str) -> bool:
    """Hub ids are `name` or `owner/name`; anything else the user meant as a path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe, so an offline machine fails in seconds instead of minutes of retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _cached_on_disk(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an invalid repo id is simply "not cached"
        return False


def _offline_message(name: str) -> str:
    return (
        f"cannot load model '{name}': it is not a local directory and the model hub cannot be "
        "reached. Pass a local directory (for example one made by `crashtransformer.py init-model` "
        "or `train`), or run with network access."
    )


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from, as from_pretrained wants it."""

    name: str  # what the user passed
    location: str  # a directory, or the hub id
    local_files_only: bool


def locate_model(name_or_path: str, allow_pickle: bool = False) -> ModelSource:
    """Resolve a hub id or a path; raise UserError with what to do when it cannot be had."""
    if not name_or_path:
        raise UserError("no model given: pass --model DIR_OR_HUB_ID")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        check_model_dir(path, allow_pickle)
        return ModelSource(name_or_path, str(path), local_files_only=True)
    if _looks_like_path(name_or_path):
        raise UserError(f"model directory not found: {name_or_path}")
    if _cached_on_disk(name_or_path):
        return ModelSource(name_or_path, name_or_path, local_files_only=not _hub_reachable())
    if not _hub_reachable():
        raise UserError(_offline_message(name_or_path))
    return ModelSource(name_or_path, name_or_path, local_files_only=False)


def check_model_dir(path: Path, allow_pickle: bool = False) -> None:
    """A model directory must have a config and safetensors weights (pickle only if allowed)."""
    if not (path / "config.json").is_file():
        raise UserError(f"{path} is not a model directory: config.json is missing")
    has_safe = any((path / name).is_file() for name in SAFE_WEIGHTS)
    has_pickle = any((path / name).is_file() for name in PICKLE_WEIGHTS)
    if not has_safe and has_pickle and not allow_pickle:
        raise UserError(
            f"{path} holds only pickle weights (pytorch_model.bin), which can run code when loaded; "
            "convert them to safetensors, or pass --allow_pickle if you trust the source"
        )
    if not has_safe and not has_pickle:
        raise UserError(f"{path} has no model weights (expected model.safetensors)")


# ----------------------------------------------------------------------------- loading


def _from_pretrained(loader, source: ModelSource, **kwargs):
    from safetensors import SafetensorError

    try:
        return loader.from_pretrained(source.location, local_files_only=source.local_files_only, **kwargs)
    except UserError:
        raise
    except (OSError, ValueError, SafetensorError) as exc:
        if source.local_files_only and not Path(source.location).is_dir():
            raise UserError(_offline_message(source.name)) from None
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
    if directory.is_dir() and not any((directory / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(f"{directory} has no tokenizer ({', '.join(TOKENIZER_FILES[:3])}, ...): copy the tokenizer "
                        "files of the model it came from into it (tokenizer.save_pretrained)")
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


def input_limit(config, requested: int, tokenizer=None) -> int:
    """`requested` input tokens, capped at the model's learned position table (BART, Pegasus,
    BERT) and the tokenizer's own maximum: a longer input would index past the table. Models
    without one (T5) take what is asked."""
    limits = [getattr(config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    limit = min([n for n in limits if isinstance(n, int) and 0 < n < 100_000] or [requested])
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


# ----------------------------------------------------------------------------- building

# Preset sizes for init-model. tiny: tests (builds in seconds); small: a CPU-trainable model
# that still fits the 25 MB shipped-model budget in fp16; base-like: bart-base-shaped.
SIZES = {
    "tiny": dict(d_model=64, layers=2, heads=2, ffn=128, vocab=1000),
    "small": dict(d_model=256, layers=3, heads=4, ffn=1024, vocab=8000),
    "base-like": dict(d_model=768, layers=6, heads=12, ffn=3072, vocab=16000),
}
MAX_POSITIONS = 1024  # longest input the learned position tables of BART/Pegasus allow


def _train_bpe_tokenizer(texts: Iterable[str], vocab_size: int):
    """Byte-level BPE, as BART uses; ids 0-3 are <s> <pad> </s> <unk>, as in facebook/bart-*."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartTokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    merges = [tuple(pair) if isinstance(pair, list) else tuple(pair.split(" "))
              for pair in json.loads(bpe.to_str())["model"]["merges"]]
    return BartTokenizer(vocab=bpe.get_vocab(), merges=merges)


def _train_unigram_vocab(texts: Iterable[str], vocab_size: int, specials: list[str]) -> list[tuple[str, float]]:
    """SentencePiece-style unigram vocabulary with `specials` first, as T5 and Pegasus expect."""
    from tokenizers import SentencePieceUnigramTokenizer

    unigram = SentencePieceUnigramTokenizer()
    unigram.train_from_iterator(texts, vocab_size=vocab_size, special_tokens=specials,
                                unk_token="<unk>", show_progress=False)
    pieces = json.loads(unigram.to_str())["model"]["vocab"]
    return [(piece, 0.0 if piece in specials else float(score)) for piece, score in pieces]


def train_tokenizer(arch: str, texts: list[str], vocab_size: int):
    """A tokenizer of the architecture's own class, trained on `texts`."""
    from transformers import PegasusTokenizer, T5Tokenizer

    if arch == "bart":
        return _train_bpe_tokenizer(texts, vocab_size)
    if arch == "t5":
        return T5Tokenizer(vocab=_train_unigram_vocab(texts, vocab_size, ["<pad>", "</s>", "<unk>"]), extra_ids=0)
    if arch == "pegasus":
        specials = ["<pad>", "</s>", "<mask_1>", "<mask_2>", "<unk>"]
        return PegasusTokenizer(vocab=_train_unigram_vocab(texts, vocab_size, specials), offset=0)
    raise UserError(f"unknown --arch {arch!r}: use bart, t5 or pegasus")


def model_config(arch: str, size: str, tokenizer, encoder_layers: int | None = None,
                 decoder_layers: int | None = None):
    """A transformers config for `arch` at preset `size`, wired to the tokenizer's special ids."""
    import transformers

    s = SIZES[size]
    encoder_layers, decoder_layers = encoder_layers or s["layers"], decoder_layers or s["layers"]
    vocab = len(tokenizer)
    ids = dict(pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if arch == "t5":
        return transformers.T5Config(
            vocab_size=vocab, d_model=s["d_model"], d_kv=s["d_model"] // s["heads"], d_ff=s["ffn"],
            num_layers=encoder_layers, num_decoder_layers=decoder_layers, num_heads=s["heads"],
            decoder_start_token_id=tokenizer.pad_token_id, tie_word_embeddings=True, **ids)
    common = dict(
        vocab_size=vocab, d_model=s["d_model"], encoder_layers=encoder_layers, decoder_layers=decoder_layers,
        encoder_attention_heads=s["heads"], decoder_attention_heads=s["heads"],
        encoder_ffn_dim=s["ffn"], decoder_ffn_dim=s["ffn"], max_position_embeddings=MAX_POSITIONS,
        forced_eos_token_id=tokenizer.eos_token_id, **ids)
    if arch == "bart":
        return transformers.BartConfig(bos_token_id=tokenizer.bos_token_id,
                                       decoder_start_token_id=tokenizer.eos_token_id, **common)
    return transformers.PegasusConfig(decoder_start_token_id=tokenizer.pad_token_id, **common)


def default_generation_config(config):
    """Generation defaults written with every model we build or train (run may override)."""
    from transformers import GenerationConfig

    return GenerationConfig(
        max_new_tokens=128,  # summaries are short; the seed's --max_target_length default
        num_beams=4,  # beam search: the usual choice for summarization
        no_repeat_ngram_size=3,  # stops the loops small models fall into
        early_stopping=True,
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=getattr(config, "bos_token_id", None),
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        forced_eos_token_id=getattr(config, "forced_eos_token_id", None),
    )


def build_model(arch: str, size: str, texts: list[str], output: str | os.PathLike,
                vocab_size: int | None = None, seed: int = 42, encoder_init: str | None = None,
                encoder_layers: int | None = None, decoder_layers: int | None = None) -> Path:
    """Train a tokenizer on `texts`, build a model, save both to `output`.

    The weights are random, or with `encoder_init` warm-started from a pretrained BERT-style
    encoder (bart only; its width replaces the size preset's)."""
    import torch
    import transformers

    if size not in SIZES:
        raise UserError(f"unknown --size {size!r}: use {', '.join(SIZES)}")
    if not texts:
        raise UserError("the corpus holds no text to train a tokenizer on")
    if encoder_init and arch != "bart":
        raise UserError("--encoder_init builds a bart model: add --arch bart")
    vocab_size = vocab_size or SIZES[size]["vocab"]
    tokenizer = train_tokenizer(arch, texts, vocab_size)
    if encoder_init:
        from crashtransformer.warm_start import warm_start

        layers = SIZES[size]["layers"]
        model = warm_start(tokenizer, encoder_init, encoder_layers or layers, decoder_layers or layers, seed)
        config = model.config
    else:
        config = model_config(arch, size, tokenizer, encoder_layers, decoder_layers)
        torch.manual_seed(seed)
        model = transformers.AutoModelForSeq2SeqLM.from_config(config)
    model.generation_config = default_generation_config(config)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)  # safetensors by default
    tokenizer.save_pretrained(out)
    log.info("built %s-%s: %.2fM parameters, vocabulary %d, written to %s",
             arch, size, model.num_parameters() / 1e6, len(tokenizer), out)
    return out


# Encoder preset for tests and quick trials: a BERT this small trains in seconds on a CPU.
TINY_ENCODER = dict(hidden=32, layers=2, heads=2, ffn=64, max_positions=512)


def build_encoder(texts: list[str], output: str | os.PathLike, vocab_size: int = 1000, seed: int = 42) -> Path:
    """A tiny randomly initialised BERT encoder with a WordPiece tokenizer trained on `texts`.

    Saved as a plain BertModel, like a pretrained encoder (MiniLM, bert-base): loading it for
    classification or ner adds a new head, exactly as with a hub model."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizer

    if not texts:
        raise UserError("the corpus holds no text to train a tokenizer on")
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=1, show_progress=False)
    tokenizer = BertTokenizer(vocab=wordpiece.get_vocab(), do_lower_case=True)
    s = TINY_ENCODER
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=s["hidden"], num_hidden_layers=s["layers"],
                        num_attention_heads=s["heads"], intermediate_size=s["ffn"],
                        max_position_embeddings=s["max_positions"], pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = BertModel(config)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    log.info("built a tiny encoder: %.2fM parameters, vocabulary %d, written to %s",
             model.num_parameters() / 1e6, len(tokenizer), out)
    return out
