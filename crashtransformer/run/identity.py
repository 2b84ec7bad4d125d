"""Which model an output directory's summaries come from.

An output directory is one set of summaries by one model: `run` resumes it, skips files it
has processed and counts Crash_IDs it holds as done. Another model's run into it would keep the
old summaries under a report that names the new model, so the first run records the model in
`<out_dir>/model.json` and every later run must bring the same one (by content, wherever it
lies), or a new --out_dir. Each summary row also names its model.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from crashtransformer.core.errors import UserError
from crashtransformer.core.io import write_json_atomic
from crashtransformer.models.integrity import check_model_files

MODEL_RECORD = "model.json"
BLOCK = 1 << 20


@dataclass(frozen=True)
class ModelIdentity:
    name: str  # the directory (or hub id) as the user gave it
    fingerprint: str  # sha256 over the model's file names and contents; a hub id for a hub model

    def as_row(self) -> dict:
        return {"model": self.name, "model_fingerprint": self.fingerprint}


def model_identity(name: str) -> ModelIdentity:
    """The identity of a model directory (by content: a copied model is the same model).

    Its files are read here before anything else of the run (the lock, model.json, the
    artifacts), so a damaged model is refused with the output directory as it was."""
    root = Path(name)
    if not root.is_dir():
        return ModelIdentity(name, f"hub:{name}")
    check_model_files(root, needs_tokenizer=True)
    digest = hashlib.sha256()
    # the files from_pretrained reads: the top level (a train output's checkpoints are not the model)
    for path in sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")):
        digest.update(f"{path.name}\0".encode())
        with open(path, "rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
    return ModelIdentity(name, digest.hexdigest()[:16])


def check_model(out_dir: Path, identity: ModelIdentity, holds_summaries: bool) -> None:
    """Record the directory's model on first use; refuse another model afterwards."""
    record_path = out_dir / MODEL_RECORD
    if not holds_summaries or not record_path.exists():  # no summaries yet: the directory is nobody's
        if holds_summaries:  # written before model.json existed: the report names the model
            _adopt_earlier_model(out_dir, identity)
        write_json_atomic(record_path, {**identity.as_row(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")})
        return
    recorded = json.loads(record_path.read_text(encoding="utf-8"))
    if recorded.get("model_fingerprint") != identity.fingerprint:
        raise UserError(
            f"{out_dir} holds summaries by the model {recorded.get('model')} (fingerprint "
            f"{recorded.get('model_fingerprint')}), not by {identity.name} (fingerprint {identity.fingerprint}); "
            "pass a new --out_dir to start a set of summaries with this model")


def _adopt_earlier_model(out_dir: Path, identity: ModelIdentity) -> None:
    """A directory from before model.json: accept the model its report names, refuse another."""
    report = out_dir / "run_report.json"
    earlier = None
    if report.exists():
        earlier = (json.loads(report.read_text(encoding="utf-8")).get("model") or {}).get("directory")
    if earlier is None or Path(earlier).resolve() != Path(identity.name).resolve():
        raise UserError(f"{out_dir} holds summaries by {earlier or 'an unrecorded model'}, not by {identity.name}; "
                        "pass a new --out_dir to start a set of summaries with this model")
