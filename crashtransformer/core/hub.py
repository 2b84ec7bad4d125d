"""Where a model comes from: a local directory, a cached hub snapshot, or the hub itself.

Rules (DESIGN, "Safe loading" and "Offline by default"): a local directory is used as is and must
hold safetensors weights unless pickle is allowed; a hub id is only fetched when the hub can be
reached, otherwise one clear UserError says what to do. Both the models (models.loading) and the
metrics' own scoring encoders (metrics.semantic) locate their weights here.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from crashtransformer.core.errors import UserError

PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")


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


def offline_message(name: str, local_hint: str = "") -> str:
    """What to do when `name` is neither a directory nor reachable. `local_hint` names a local model
    the caller knows of (core knows none: models/ passes the shipped default model)."""
    return (
        f"cannot load model '{name}': it is not a local directory and the model hub cannot be "
        f"reached. Pass a local directory (for example {local_hint + ', or ' if local_hint else ''}one made by "
        "`crashtransformer.py init-model` or `train`), or run with network access."
    )


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from, as from_pretrained wants it."""

    name: str  # what the user passed
    location: str  # a directory, or the hub id
    local_files_only: bool


def locate_model(name_or_path: str, allow_pickle: bool = False, local_hint: str = "") -> ModelSource:
    """Resolve a hub id or a path; raise UserError with what to do when it cannot be had
    (`local_hint`: see offline_message)."""
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
        raise UserError(offline_message(name_or_path, local_hint))
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
