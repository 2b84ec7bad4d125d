"""Is a model folder whole? Its files checked by their format before any library reads them.

A nightly job meets models copied half-way (a full disk, a killed rsync) and config files edited
by hand. transformers and safetensors report those in their own words ("header too small",
"Unrecognized model ... Should have a `model_type` key"), without saying which file is at fault;
here each damaged file is one UserError naming it and saying what is wrong. Only headers and the
small JSON files are read: checking costs milliseconds, not a load of the weights.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import NoReturn

from crashtransformer.core.errors import UserError

COPY_AGAIN = "copy the model folder again from where it came from"
# The JSON files from_pretrained reads from a model folder; each must hold one JSON object.
JSON_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json", "vocab.json", "added_tokens.json", "model.safetensors.index.json")
SAFETENSORS_INDEX = "model.safetensors.index.json"
MAX_HEADER = 100 << 20  # safetensors' own limit on its JSON header


# A tokenizer directory holds at least one of these; without them transformers v5 quietly builds
# an empty tokenizer from config.json, and every summary would be nonsense.
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model", "source.spm")


# Binary tokenizer files of seq2seq families (T5, Pegasus: spiece.model; mBART; Marian's .spm).
SENTENCEPIECE_FILES = ("spiece.model", "sentencepiece.bpe.model", "source.spm", "target.spm")


def check_model_files(directory: str | Path, needs_tokenizer: bool = False) -> None:
    """UserError naming the first damaged file of a model folder; nothing when each looks whole.
    `needs_tokenizer`: a transformers model's folder (its config.json names a model_type) must
    hold its tokenizer too (a CTranslate2 export keeps its own under hf/)."""
    root = Path(directory)
    key = _folder_key(root, needs_tokenizer)
    if key in _FOUND_WHOLE:
        return
    for name in JSON_FILES:
        if (root / name).is_file():
            config = read_json_object(root / name)
            if name == "config.json" and needs_tokenizer and "model_type" in config:
                require_tokenizer(root)
    for name in SENTENCEPIECE_FILES:
        if (root / name).is_file():
            check_sentencepiece(root / name)
    for weights in sorted(root.glob("*.safetensors")):
        check_safetensors(weights)
    if (root / SAFETENSORS_INDEX).is_file():
        _check_shards_listed(root)
    _FOUND_WHOLE.add(key)


# Folders found whole, by their files' names, sizes and times: a command loads its model's config,
# tokenizer and weights one by one, and a big tokenizer.json is worth parsing only once.
_FOUND_WHOLE: set[tuple] = set()


def _folder_key(root: Path, needs_tokenizer: bool) -> tuple:
    files = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.iterdir()) if p.is_file())
    return str(root.resolve()), needs_tokenizer, files


def require_tokenizer(directory: Path) -> None:
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(f"{directory} has no tokenizer ({', '.join(TOKENIZER_FILES[:3])}, ...): copy the tokenizer "
                        "files of the model it came from into it (tokenizer.save_pretrained)")


def read_json_object(path: Path) -> dict:
    """The JSON object in `path`, or a UserError saying where it stops being one."""
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")  # garbage bytes: a position, not a UnicodeDecodeError
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        ends_there = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        cut = " (the file ends there: it was cut short)" if ends_there else ""
        raise UserError(f"{path} is not valid JSON (line {exc.lineno} column {exc.colno}): {exc.msg}{cut}; "
                        f"{COPY_AGAIN}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} holds a JSON {type(data).__name__}, not a JSON object: {COPY_AGAIN}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # valid JSON around a few bad bytes: a damaged copy all the same
        raise UserError(f"{path} is not UTF-8 text (byte {exc.start}): {COPY_AGAIN}") from None
    return data


def check_safetensors(path: Path) -> None:
    """A safetensors file is an 8-byte header length, a JSON header, then the tensors' bytes:
    a file shorter than its header says was cut short."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            _damaged_weights(path, "the file is empty, 0 bytes" if size == 0 else f"{size} bytes, less than a header")
        length = struct.unpack("<Q", head)[0]
        if length > min(size - 8, MAX_HEADER):
            _damaged_weights(path, f"its header says {length} bytes of metadata, the file holds {size} bytes in all")
        header = handle.read(length)
    try:
        tensors = json.loads(header)
        end = max((int(t["data_offsets"][1]) for name, t in tensors.items() if name != "__metadata__"), default=0)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        _damaged_weights(path, "its header is not the JSON table of tensors a safetensors file starts with")
    if 8 + length + end > size:
        _damaged_weights(path, f"its tensors need {8 + length + end} bytes, the file holds {size}")


def check_sentencepiece(path: Path) -> None:
    """A SentencePiece model is a protobuf only its library parses: one cut short or overwritten
    would otherwise fail deep inside the tokenizer's loader, naming no file."""
    try:
        import sentencepiece
    except ImportError:
        return  # transformers needs it to read the file at all, and says so itself
    try:
        sentencepiece.SentencePieceProcessor(model_file=str(path))
    except (RuntimeError, OSError) as exc:
        raise UserError(f"{path} is not a SentencePiece model that loads ({str(exc).strip()}): {COPY_AGAIN}") from None


def _damaged_weights(path: Path, detail: str) -> NoReturn:
    raise UserError(f"{path} is truncated or corrupt ({detail}): {COPY_AGAIN}")


def _check_shards_listed(root: Path) -> None:
    """A sharded checkpoint: every shard its index names must be there (each checked above)."""
    weight_map = read_json_object(root / SAFETENSORS_INDEX).get("weight_map") or {}
    for shard in sorted(set(weight_map.values()) if isinstance(weight_map, dict) else ()):
        if not (root / str(shard)).is_file():
            raise UserError(f"{root / str(shard)} is missing ({SAFETENSORS_INDEX} lists it): {COPY_AGAIN}")
