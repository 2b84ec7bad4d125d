"""Roofline arithmetic for the GPU benchmarks (a bench helper, not part of the product).

- `seq2seq_train_flops`: FLOPs of one forward + backward pass of an encoder-decoder transformer
  (BART, mBART, Pegasus, Marian, T5) over given source and target lengths;
- `mfu`: model FLOPs utilization, achieved model FLOP/s over the GPU's peak;
- `GPU_SPECS` / `gpu_spec`: peak dense bf16 FLOP/s and HBM bandwidth, looked up by
  `torch.cuda.get_device_name()`;
- `decode_bandwidth_bound`: the fastest greedy or beam decoding can go when every step must read
  the decoder's weights and the KV caches from HBM once, as output tokens/s, so a measured rate
  can be reported as a share of it.

The FLOPs count (sources):
  Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv:2001.08361) sec. 2.1 and
  table 1: a forward pass costs 2 FLOPs per weight of a dense matmul per token (one multiply, one
  add), the backward pass twice that, so training costs 6 * N * tokens; attention scores add
  2 * n_layer * n_ctx * d_attn per token forward.
  Narayanan et al. 2021, "Efficient Large-Scale Language Model Training on GPU Clusters Using
  Megatron-LM" (arXiv:2104.04473) sec. 5.1 / appendix: per layer forward, the Q.K^T scores and
  the scores.V product cost 2*B*s^2*h each, the LM head 2*B*s*h*V; forward + backward = 3x forward
  (their 96 = 4x with activation recomputation, which `train` does not use: 3x here, their 72).
  Chowdhery et al. 2022, "PaLM" (arXiv:2204.02311) appendix B: MFU = model FLOPs per second
  (6N + 12 * L * H * Q * T per token, i.e. the same two terms) / peak FLOPs per second, counted
  without activation recomputation and without padding.
For an encoder-decoder the two stacks see different tokens, so the 6 * N * tokens term is split:
encoder weights x source tokens, decoder weights x target tokens, except the cross-attention key
and value projections, which read the encoder's output (source tokens). Attention: encoder
self-attention S x S, decoder self-attention T x T (counted in full, as dense and eager kernels
compute it under the causal mask; a causal flash kernel skips about half of it), cross-attention
T x S. Embedding lookups, layer norms, softmax, activations and the loss are not matmuls and
are left out (under 1% at these widths).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

# ----------------------------------------------------------------------------- model shape


@dataclass(frozen=True)
class Shape:
    """What the count needs of an encoder-decoder config."""

    d_model: int
    attention: int  # heads x head size (d_model for BART; num_heads * d_kv for T5)
    encoder_layers: int
    decoder_layers: int
    encoder_ffn: int
    decoder_ffn: int
    vocab: int
    ffn_matrices: int = 2  # 3 for gated feed-forward layers (T5 v1.1, mT5)


def shape_of(config) -> Shape:
    """A transformers config (BART family or T5 family) as a Shape."""
    d = config.d_model
    if hasattr(config, "encoder_ffn_dim"):  # bart, mbart, pegasus, marian, ...
        return Shape(d, d, config.encoder_layers, config.decoder_layers, config.encoder_ffn_dim,
                     config.decoder_ffn_dim, config.vocab_size)
    if hasattr(config, "d_ff"):  # t5, mt5, umt5, longt5
        gated = bool(getattr(config, "is_gated_act", False)) or str(getattr(config, "feed_forward_proj", "")).startswith("gated")
        return Shape(d, config.num_heads * config.d_kv, config.num_layers,
                     config.num_decoder_layers or config.num_layers, config.d_ff, config.d_ff, config.vocab_size,
                     3 if gated else 2)
    raise ValueError(f"not an encoder-decoder config this count knows: {type(config).__name__}")


def _as_lengths(tokens: int | Iterable[int]) -> list[int]:
    return [int(tokens)] if isinstance(tokens, (int, float)) else [int(t) for t in tokens]


# ----------------------------------------------------------------------------- training FLOPs


def seq2seq_forward_flops(config, src_tokens: int | Sequence[int], tgt_tokens: int | Sequence[int]) -> float:
    """Matmul FLOPs of one forward pass. `src_tokens`/`tgt_tokens`: one example's lengths, or one
    length per example (summed over the examples; the attention terms are per example, so pass
    lengths, not totals). Pass padded lengths for the work a kernel does, real ones for MFU."""
    s = shape_of(config) if not isinstance(config, Shape) else config
    sources, targets = _as_lengths(src_tokens), _as_lengths(tgt_tokens)
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} source lengths but {len(targets)} target lengths")
    d, a = s.d_model, s.attention
    encoder_weights = s.encoder_layers * (4 * d * a + s.ffn_matrices * d * s.encoder_ffn)  # q k v o + ffn
    # decoder weights applied to target tokens: self q k v o, cross q and o, ffn
    decoder_weights = s.decoder_layers * (4 * d * a + 2 * d * a + s.ffn_matrices * d * s.decoder_ffn)
    cross_kv_weights = s.decoder_layers * 2 * d * a  # cross-attention k and v read the encoder output
    total = 0.0
    for S, T in zip(sources, targets):
        total += 2 * S * encoder_weights + 2 * T * decoder_weights + 2 * S * cross_kv_weights
        total += 4 * a * (s.encoder_layers * S * S + s.decoder_layers * (T * T + T * S))  # scores + values
        total += 2 * T * d * s.vocab  # LM head
    return total


def seq2seq_train_flops(config, src_tokens: int | Sequence[int], tgt_tokens: int | Sequence[int]) -> float:
    """FLOPs of one forward + backward pass (backward = 2x forward: the gradients with respect to
    both the inputs and the weights of every matmul; Kaplan et al. 2020, Narayanan et al. 2021)."""
    return 3 * seq2seq_forward_flops(config, src_tokens, tgt_tokens)


def mfu(flops_per_s: float, peak_flops: float | None) -> float | None:
    """Model FLOPs utilization (PaLM, appendix B): achieved model FLOP/s over the peak; None when
    the peak is unknown (a CPU, a GPU not in GPU_SPECS)."""
    if not peak_flops:
        return None
    return flops_per_s / peak_flops


# ----------------------------------------------------------------------------- GPUs


@dataclass(frozen=True)
class GpuSpec:
    name: str
    bf16_flops: float  # peak dense bf16 tensor FLOP/s (no structured sparsity), FP32 accumulate
    hbm_bytes_per_s: float  # memory bandwidth, bytes/s
    source: str


TERA = 1e12
# Dense figures: NVIDIA's sheets print bf16 "with sparsity" (2x) beside or instead of dense; the dense
# value is half of it. Matched in order on the lowercased device name: specific variants first.
GPU_SPECS: list[tuple[str, GpuSpec]] = [
    (r"h200.*nvl", GpuSpec("H200 NVL", 835.5 * TERA, 4.8 * TERA,
                           "NVIDIA H200 Tensor Core GPU datasheet (2024): BF16 1,671 TFLOPS with sparsity, 4.8 TB/s")),
    (r"h200", GpuSpec("H200 SXM", 989.5 * TERA, 4.8 * TERA,
                      "NVIDIA H200 Tensor Core GPU datasheet (2024): BF16 1,979 TFLOPS with sparsity, HBM3e 4.8 TB/s")),
    (r"h100.*nvl", GpuSpec("H100 NVL", 835.5 * TERA, 3.9 * TERA,
                           "NVIDIA H100 Tensor Core GPU datasheet (2023): BF16 1,671 TFLOPS with sparsity, 3.9 TB/s")),
    (r"h100.*pcie", GpuSpec("H100 PCIe", 756.5 * TERA, 2.0 * TERA,
                            "NVIDIA H100 Tensor Core GPU datasheet (2023): BF16 1,513 TFLOPS with sparsity, 2 TB/s")),
    (r"h100", GpuSpec("H100 SXM", 989.5 * TERA, 3.35 * TERA,
                      "NVIDIA H100 Tensor Core GPU datasheet (2023): BF16 1,979 TFLOPS with sparsity, HBM3 3.35 TB/s")),
    (r"a100.*80gb.*pcie|a100.*pcie.*80gb", GpuSpec("A100 80GB PCIe", 312 * TERA, 1.935 * TERA,
                                                   "NVIDIA A100 Tensor Core GPU datasheet (2021): BF16 312 TFLOPS, "
                                                   "HBM2e 1,935 GB/s (PCIe)")),
    (r"a100.*80gb", GpuSpec("A100 80GB SXM", 312 * TERA, 2.039 * TERA,
                            "NVIDIA A100 Tensor Core GPU datasheet (2021): BF16 312 TFLOPS, HBM2e 2,039 GB/s (SXM)")),
    (r"\bl4\b", GpuSpec("L4", 121 * TERA, 0.3 * TERA,
                        "NVIDIA L4 Tensor Core GPU datasheet (2023): BF16 242 TFLOPS with sparsity, GDDR6 300 GB/s")),
    (r"rtx 4090", GpuSpec("RTX 4090", 165.2 * TERA, 1.008 * TERA,
                          "NVIDIA Ada Lovelace GPU architecture whitepaper v1.1, appendix table: peak BF16 tensor "
                          "165.2 TFLOPS with FP32 accumulate (330.4 with sparsity), GDDR6X 1,008 GB/s")),
]


def gpu_spec(name: str | None = None) -> GpuSpec | None:
    """The spec of a device name (default: this process's CUDA device); None when unknown or no GPU."""
    if name is None:
        import torch

        if not torch.cuda.is_available():
            return None
        name = torch.cuda.get_device_name()
    lowered = name.lower()
    for pattern, spec in GPU_SPECS:
        if re.search(pattern, lowered):
            return spec
    return None


# ----------------------------------------------------------------------------- decoding


def decoder_weight_params(config) -> int:
    """Weights one decoding step reads: the decoder's matmuls (self-attention q k v o, cross-attention
    q and o, feed-forward) and the LM head. The cross-attention k and v projections run once, over
    the encoder output, when the cache is filled; embedding rows and norms are negligible."""
    s = shape_of(config) if not isinstance(config, Shape) else config
    d, a = s.d_model, s.attention
    return s.decoder_layers * (4 * d * a + 2 * d * a + s.ffn_matrices * d * s.decoder_ffn) + d * s.vocab


def decode_bandwidth_bound(config, batch: int, src_tokens: float, new_tokens: float, hbm_bytes_per_s: float,
                           num_beams: int = 1, weight_bytes: int = 2, cache_bytes: int | None = None,
                           peak_flops: float | None = None) -> dict:
    """The fastest `batch` crashes can be decoded, `new_tokens` each, with `num_beams` beams.

    Each step reads every decoder weight once (shared by the batch) and, for each of the
    batch x beams sequences, its self-attention KV cache (2 x layers x attention x tokens so far)
    and its cross-attention KV cache (2 x layers x attention x `src_tokens`). Bytes over bandwidth
    is the step's least time; with `peak_flops`, a step is never faster than its matmul FLOPs
    (2 x weights x sequences) over the peak either (the roofline's other side). Output tokens/s
    counts one token per crash per step (beams are work, not output). The encoder pass, the
    host work and beam reordering of the cache are left out: this is a ceiling.
    `weight_bytes`/`cache_bytes`: 2 for bf16 (weights cast once under autocast), 4 for fp32."""
    s = shape_of(config) if not isinstance(config, Shape) else config
    cache_bytes = weight_bytes if cache_bytes is None else cache_bytes
    sequences = batch * num_beams
    weights = decoder_weight_params(s)
    per_token_cache = 2 * s.decoder_layers * s.attention * cache_bytes  # k and v, every decoder layer
    steps = max(1, round(new_tokens))
    seconds = bytes_total = 0.0
    for step in range(1, steps + 1):  # step t reads the t tokens cached so far (the start token included)
        step_bytes = weights * weight_bytes + sequences * per_token_cache * (step + src_tokens)
        step_seconds = step_bytes / hbm_bytes_per_s
        if peak_flops:
            step_seconds = max(step_seconds, 2 * weights * sequences / peak_flops)
        seconds += step_seconds
        bytes_total += step_bytes
    return {"bytes_per_step": bytes_total / steps, "seconds": seconds,
            "tokens_per_s": batch * steps / seconds, "steps": steps}


def share(measured: float | None, bound: float | None) -> str:
    """'42.0%', or n/a when either side is unknown."""
    return f"{measured / bound:.1%}" if measured and bound else "n/a"


def crashes_per_batch(batch_size, rows: int, beams: int, source: float, new: float) -> int:
    """Crashes per generation batch: a fixed size, or what a token budget ("tokens:N",
    infer/batching.py) holds at the mean input and output length."""
    if isinstance(batch_size, str) and batch_size.startswith("tokens:"):
        return max(1, min(rows, int(batch_size.split(":", 1)[1]) // max(1, round(beams * (source + new)))))
    return max(1, min(rows, int(batch_size or 1)))
