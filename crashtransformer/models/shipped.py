"""The shipped default model: where `run` finds it when no --model is given.

In a source checkout it is fine_tuned_models/crashtransformer-default/; `pip install .` copies the
same files into the package as crashtransformer/default_model/ (pyproject.toml maps the folder),
so an installed `crashtransformer run --csv FILE` works from any directory, offline.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # crashtransformer/
INSTALLED_DIR = PACKAGE_ROOT / "default_model"  # a non-editable install
CHECKOUT_DIR = PACKAGE_ROOT.parent / "fine_tuned_models" / "crashtransformer-default"  # a source checkout


def shipped_model_dir() -> Path:
    """The installed copy when there is one, else the checkout's folder (which may be missing)."""
    return INSTALLED_DIR if (INSTALLED_DIR / "config.json").is_file() else CHECKOUT_DIR
