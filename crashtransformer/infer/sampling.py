"""Sampled candidates that belong to their crash: the same crash, seed and settings draw the
same candidates whatever else shares its batch, its shard or its resumed run.

`model.generate(do_sample=True)` draws every row of a batch from one random stream, so a
crash's samples change with the batch size and with the crashes before it (and CTranslate2
keeps one stream per worker thread, seeded once). Here each candidate row draws from its own
generator, seeded from `--seed`, the crash's key (its Crash_ID) and the candidate's number,
through the Gumbel-max trick: adding Gumbel noise to the log-probabilities and taking the
argmax is an exact draw from the softmax, so greedy decoding over perturbed scores is nucleus
sampling with per-row randomness.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import torch
from transformers import LogitsProcessor


def candidate_seed(seed: int, key: str, number: int) -> int:
    """A 63-bit seed for candidate `number` of the crash `key` (stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}\x1f{key}\x1f{number}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class SeededNucleusSampling(LogitsProcessor):
    """Temperature, top-p and one Gumbel draw per row and step, each row from its own generator.

    Runs after the model's own processors (no-repeat n-grams, forced end token), as sampling
    warpers do; the caller decodes greedily (`do_sample=False`, one beam)."""

    def __init__(self, seeds: Sequence[int], top_p: float, temperature: float, device):
        # CPU generators: the draws are the same on every device (and a CUDA generator per row
        # would launch one kernel per row per step anyway)
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.top_p, self.temperature, self.device = top_p, temperature, device

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        logits = nucleus(scores.float() / self.temperature, self.top_p)
        uniform = torch.stack([torch.rand(logits.shape[-1], generator=g) for g in self.generators])
        gumbel = -torch.log(-torch.log(uniform.clamp(min=1e-20, max=1.0 - 1e-7)))
        return logits + gumbel.to(logits.device)


def nucleus(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Logits with every token outside the smallest set holding `top_p` of the mass set to -inf
    (the most likely token always stays)."""
    if top_p >= 1.0:
        return logits
    ordered, order = logits.sort(dim=-1, descending=True)
    probs = ordered.softmax(dim=-1)
    outside = probs.cumsum(dim=-1) - probs >= top_p  # the mass before a token already reaches top_p
    ordered = ordered.masked_fill(outside, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, ordered)
