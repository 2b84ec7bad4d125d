"""The CTranslate2 generation backend: the same `generate(batch) -> candidates` shape as
`generation.TorchGenerator`, on a model written by `crashtransformer.py export`.

An export directory holds CTranslate2's own files (model.bin, config.json, the vocabulary)
and, under `hf/`, the Hugging Face tokenizer, model config and generation config of the
source model (see `crashtransformer.infer.export`). `run --backend ctranslate2 --model EXPORT`
loads it through `load_ctranslate2_model`, which returns a small stand-in with the
`config`, `generation_config` and `num_parameters()` that `run` reads from a torch model,
so prompts, batching, reranking and the report go through the same code.

ctranslate2 is in requirements.txt; without it `run --backend auto` falls back to torch.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from crashtransformer.core.errors import UserError
from crashtransformer.core.io import file_digest
from crashtransformer.infer.batching import Batching, as_batching
from crashtransformer.infer.generation import Candidate, is_out_of_memory, release_memory, smaller_batch
from crashtransformer.core.logs import log

MANIFEST = "export_manifest.json"
HF_SUBDIR = "hf"  # the source model's tokenizer, config and generation config
INSTALL_HINT = "pip install ctranslate2"


def require_ctranslate2():
    """The ctranslate2 module, or a UserError that says how to install it."""
    try:
        import ctranslate2
    except ImportError:
        raise UserError(f"the ctranslate2 backend needs the ctranslate2 package: {INSTALL_HINT}") from None
    return ctranslate2


def is_ctranslate2_export(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file() and (Path(path) / "model.bin").is_file()


def export_damage(path: str | os.PathLike) -> str | None:
    """What is wrong with an export directory, or None when it looks whole: the files `run` reads
    are there and parse, and model.bin has the size its manifest recorded (a cut copy has not)."""
    root = Path(path)
    parsed = {}
    for name in (MANIFEST, "model.bin", "config.json", f"{HF_SUBDIR}/config.json"):
        if not (root / name).is_file():
            return f"{name} is missing"
        if name.endswith(".json"):
            try:
                parsed[name] = json.loads((root / name).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                return f"{name} is unreadable ({exc})"
    recorded = (parsed[MANIFEST].get("sizes_bytes") or {}).get("exported_weights") \
        if isinstance(parsed[MANIFEST], dict) else None
    size = (root / "model.bin").stat().st_size
    if isinstance(recorded, int) and size != recorded:
        return f"model.bin holds {size} bytes, {MANIFEST} says {recorded}"
    return _digest_mismatch(root, parsed[MANIFEST])


def _digest_mismatch(root: Path, manifest: dict) -> str | None:
    """model.bin against the SHA-256 its manifest recorded (exports made before it was recorded
    are checked by size only): a flipped byte in the weights would otherwise run, and write nonsense."""
    recorded = (manifest.get("sha256") or {}).get("model.bin") if isinstance(manifest, dict) else None
    weights = root / "model.bin"
    stat = weights.stat()
    key = (str(weights.resolve()), stat.st_size, stat.st_mtime_ns, recorded)
    if not isinstance(recorded, str) or key in _DIGEST_MATCHED:
        return None
    actual = file_digest(weights)
    if actual != recorded:
        return f"model.bin has SHA-256 {actual[:12]}..., {MANIFEST} says {recorded[:12]}..."
    _DIGEST_MATCHED.add(key)
    return None


# model.bin files whose digest matched, by path, size and time: a run checks its cached conversion
# before it loads it, and a file read whole once is not read again for the same answer.
_DIGEST_MATCHED: set[tuple] = set()


def refuse_export_for_torch(path: str | os.PathLike) -> None:
    """A clear word when a CTranslate2 export is handed to the torch backend."""
    if is_ctranslate2_export(path):
        raise UserError(f"{path} is a CTranslate2 export: run it with --backend ctranslate2 "
                        f"(or pass the source model, {read_manifest(path).get('source_model')}, to --backend torch)")


def read_manifest(path: str | os.PathLike) -> dict:
    return json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))


def ct2_device(device) -> str:
    """CTranslate2 runs on CUDA or CPU; anything else (MPS) falls back to CPU."""
    return "cuda" if getattr(device, "type", str(device)) == "cuda" else "cpu"


def cpu_threads() -> int:
    """Cores this process may use (CTranslate2's own default caps at 4), at most OMP_NUM_THREADS
    when that is set: `torchrun` and `accelerate launch` set it to share the cores among ranks."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        cores = os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(cores, int(limit))) if limit.isdigit() and int(limit) > 0 else cores


def thread_layout(target: str) -> dict[str, int]:
    """CTranslate2's inter_threads (batches decoded at once) and intra_threads (threads per batch).

    On CPU, one thread per batch and as many batches at once as cores: the small models this
    tool trains have matrices too small to share among threads. Measured on the 2-core dev box
    (shipped model, int8, greedy): one batch of 8 on 2 threads ran 21 crashes/s, two batches on
    one thread each 142 (docs/export.md). On CUDA, CTranslate2's defaults."""
    if target != "cpu":
        return {"inter_threads": 1, "intra_threads": 0}
    return {"inter_threads": cpu_threads(), "intra_threads": 1}


def default_batch_size(device, num_beams: int = 1) -> int:
    """Crashes per CTranslate2 batch. On a CPU, small batches across parallel workers: the
    shipped model (int8, 2 cores, whole chunks) ran greedy at 140 / 152 / 148 crashes/s with
    batches of 4 / 8 / 16, and 4 beams at 77 / 90 / 87 / 77 with 2 / 4 / 8 / 16. On a GPU, the
    torch backend's sizes."""
    from crashtransformer.infer.generation import default_batch_size as torch_default

    if ct2_device(device) == "cpu":
        return max(1, min(8, 16 // max(1, num_beams)))
    return torch_default(device, num_beams)


POLL_SECONDS = 0.05  # how often the main thread looks up from CTranslate2's workers


def wait_for(pending: list, on_done=None) -> list:
    """The results of asynchronous CTranslate2 calls. Waiting in Python, not inside one blocking
    C++ call, lets Ctrl-C and SIGTERM stop `run` at once instead of after the whole chunk;
    `on_done` hears how many are finished as that grows."""
    reported = 0
    while True:
        finished = sum(1 for item in pending if item.done())
        if on_done is not None and finished > reported:
            on_done(finished)
            reported = finished
        if finished == len(pending):
            return [item.result() for item in pending]
        time.sleep(POLL_SECONDS)


@dataclass
class CTranslate2Model:
    """What `run` needs of a model, for a CTranslate2 export."""

    translator: object
    config: object  # the source model's transformers config (model_type for the prompt builder)
    generation_config: object  # the source model's transformers GenerationConfig
    directory: str
    manifest: dict = field(default_factory=dict)
    device: str = "cpu"
    compute_type: str = "default"

    def num_parameters(self) -> int | None:
        return self.manifest.get("parameters")

    @property
    def quantization(self) -> str:
        return str(self.manifest.get("quantization", "unknown"))


def load_ctranslate2_model(directory: str, device="cpu", compute_type: str = "default"):
    """(CTranslate2Model, tokenizer) from an export directory; UserError when it is not one."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    ctranslate2 = require_ctranslate2()
    if not Path(directory).is_dir():
        raise UserError(f"model directory not found: {directory}")
    root = Path(directory)
    if not ((root / MANIFEST).is_file() or (root / "model.bin").is_file()):  # either one: an export, damaged or not
        _refuse_a_classifier(directory)
        raise UserError(f"{directory} is not a CTranslate2 export (no {MANIFEST} and model.bin); make one with "
                        f"`crashtransformer.py export --model {directory} --output DIR`, or use --backend torch")
    damage = export_damage(directory)
    if damage:
        raise UserError(f"{directory} is a damaged CTranslate2 export ({damage}): make it again with "
                        f"`crashtransformer.py export --model SOURCE --output {directory} --overwrite`")
    hf = str(Path(directory) / HF_SUBDIR)
    target = ct2_device(device)
    # an unbounded queue: a full one blocks the submitting call in C++, where Ctrl-C cannot reach it
    translator = ctranslate2.Translator(directory, device=target, compute_type=compute_type, max_queued_batches=-1,
                                        **thread_layout(target))
    model = CTranslate2Model(translator, AutoConfig.from_pretrained(hf, local_files_only=True),
                             GenerationConfig.from_pretrained(hf, local_files_only=True), directory,
                             read_manifest(directory), target, compute_type)
    tokenizer = AutoTokenizer.from_pretrained(hf, local_files_only=True)
    log.info("loaded CTranslate2 export %s (%s, saved as %s, computing in %s on %s)", directory,
             model.config.model_type, model.quantization, translator.compute_type, target)
    return model, tokenizer


def _refuse_a_classifier(directory: str) -> None:
    """A classifier's folder is no summarizer to export: say that, not how to export it."""
    from crashtransformer.models.loading import load_config, require_seq2seq

    if (Path(directory) / "config.json").is_file():
        require_seq2seq(load_config(directory), directory)


class CTranslate2Generator:
    """`translator.translate_batch` with the settings of a transformers GenerationConfig.

    Scores, when asked for, are the mean token log-probability of each candidate (end token
    included) as the beam search itself computed it (`return_scores`, its length normalization
    undone to a plain mean): no second, teacher-forced pass, which re-encoded every narrative and
    cost as much as decoding with our small decoder. It is the probability under the decoding
    constraints (suppressed sequences, no repeated n-grams), where the torch backend's is the raw
    model's; the two agree when nothing is suppressed, and it only breaks ties (infer/rerank.py).

    With a fixed `batch_size` it takes a whole chunk at once: CTranslate2 sorts it by length, cuts
    batches of `batch_size` and decodes as many at a time as it has workers (inter_threads), so
    none waits for another's longest summary. With a token budget (a `Batching` of tokens, CUDA)
    generation.generate_with_backend cuts the batches, and halves them out of memory, as for
    torch: CTranslate2's own batch_type="tokens" counts inputs x longest source only (no beams,
    no new tokens), which is not the budget's measure, so each batch goes to it whole."""

    def __init__(self, model: CTranslate2Model, tokenizer, generation_config=None, num_return_sequences: int = 1,
                 score: bool | None = None, batch_size: int | Batching = 8):
        self.generation_config = copy.deepcopy(generation_config or model.generation_config)
        if self.generation_config.do_sample:  # one random stream per worker thread, seeded once
            raise ValueError("CTranslate2 cannot seed each crash's samples: draw them with the torch "
                             "backend (infer/sampling.py)")
        self.translator = model.translator
        batching = as_batching(batch_size)
        self.batch_size = batching.size  # None: a token budget, batches cut by generate_with_backend
        self.schedules_batches = batching.size is not None
        self.tokenizer = tokenizer
        self.num_return_sequences = num_return_sequences
        self.score = num_return_sequences > 1 if score is None else score
        config = self.generation_config
        self.beam_size = max(int(config.num_beams or 1), 1)
        if num_return_sequences > self.beam_size:
            raise UserError(f"{num_return_sequences} candidates need --num_beams >= {num_return_sequences}")
        # what a token budget counts (infer/batching.py): rows per input and new tokens per row
        self.sequences_per_input, self.max_new_tokens = self.beam_size, self._max_decoding_length()

    def _max_decoding_length(self) -> int:
        """transformers counts the end token in max_new_tokens and, with forced_eos_token_id
        (BART), spends the last step on it; CTranslate2 counts content tokens only."""
        config = self.generation_config
        limit = config.max_new_tokens or 128  # 128: our default summary length (models/building.py)
        return max(limit - 1, 1) if config.forced_eos_token_id is not None else limit

    def _options(self) -> dict:
        config = self.generation_config
        options = dict(beam_size=self.beam_size, num_hypotheses=self.num_return_sequences,
                       max_decoding_length=self._max_decoding_length(),
                       # counted as max_decoding_length is: min_new_tokens == max_new_tokens is valid for
                       # transformers, and a minimum above the maximum is an error for CTranslate2
                       min_decoding_length=min(config.min_new_tokens or 0, self._max_decoding_length()),
                       no_repeat_ngram_size=config.no_repeat_ngram_size or 0,
                       length_penalty=float(config.length_penalty if config.length_penalty is not None else 1.0),
                       repetition_penalty=float(config.repetition_penalty or 1.0),
                       max_input_length=0,  # the prompt builder already cut the input to --max_length
                       return_scores=bool(self.score))
        if config.bad_words_ids:
            options["suppress_sequences"] = [self.tokenizer.convert_ids_to_tokens(ids) for ids in config.bad_words_ids]
        return options

    def generate(self, batch: Sequence[Sequence[int]], keys: Sequence[str] = (), on_done=None) -> list[list[Candidate]]:
        """Beam candidates (deterministic: `keys` seed nothing here). Out of memory, the call is
        made again in batches half as big, which the rest of the run keeps. Under a token budget
        `batch` is one batch, run whole; generate_with_backend handles its out-of-memory error."""
        if not self.schedules_batches:
            return self._generate(batch, on_done, len(batch))
        while True:
            try:
                return self._generate(batch, on_done, self.batch_size)
            except Exception as error:  # only out-of-memory is handled; the rest is raised as it was
                if not is_out_of_memory(error):
                    raise
                self.batch_size = smaller_batch(min(self.batch_size, len(batch)), error)
            release_memory()  # out of the except block: the failed call's frames are gone

    def _generate(self, batch: Sequence[Sequence[int]], on_done, batch_size: int) -> list[list[Candidate]]:
        sources = [self.tokenizer.convert_ids_to_tokens(list(ids)) for ids in batch]
        results = wait_for(self.translator.translate_batch(sources, max_batch_size=batch_size, asynchronous=True,
                                                           **self._options()), on_done)
        hypotheses = [result.hypotheses for result in results]  # tokens, end token left out
        scores = [[self._mean(score, len(tokens)) for score, tokens in zip(result.scores, result.hypotheses)]
                  for result in results] if self.score else None
        candidates = []
        for i, options in enumerate(hypotheses):
            texts = self.tokenizer.batch_decode([self.tokenizer.convert_tokens_to_ids(tokens) for tokens in options],
                                                skip_special_tokens=True)
            candidates.append([Candidate(text.strip(), None if scores is None else scores[i][k])
                               for k, text in enumerate(texts)])
        return candidates

    def _mean(self, score: float, length: int) -> float:
        """CTranslate2's beam score is the summed log-probability, end token included, over
        (length + 1) ** length_penalty: checked against `score_batch` on the shipped model, equal to
        the last digit. A candidate cut at the length limit has no end token (transformers has none
        either, unless it forces one there, as BART does)."""
        cut = length >= self._max_decoding_length() and self.generation_config.forced_eos_token_id is None
        counted = max(length + (0 if cut else 1), 1)
        penalty = float(self.generation_config.length_penalty if self.generation_config.length_penalty is not None else 1.0)
        return score * counted ** penalty / counted
