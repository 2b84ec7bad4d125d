"""bench/roofline.py: the FLOPs count against torch's FlopCounterMode on a real forward + backward
of tiny models, the GPU table lookup, and the decode bound against a hand computation."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from conftest import REPO


def _roofline():
    spec = importlib.util.spec_from_file_location("roofline", REPO / "bench" / "roofline.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("roofline", module)
    spec.loader.exec_module(module)
    return module


roofline = _roofline()


def _counted_train_flops(model_dir: Path, lengths: list[tuple[int, int]], attn: str) -> tuple[float, dict]:
    """FlopCounterMode's FLOPs of a forward + backward per (source, target) length, one example each."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoModelForSeq2SeqLM

    torch.manual_seed(0)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, attn_implementation=attn).train()
    vocab = model.config.vocab_size
    total, by_op = 0.0, {}
    for source, target in lengths:
        ids, labels = torch.randint(5, vocab, (1, source)), torch.randint(5, vocab, (1, target))
        with FlopCounterMode(display=False) as counter:
            model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss.backward()
        total += counter.get_total_flops()
        for op, flops in counter.get_flop_counts()["Global"].items():
            by_op[str(op)] = by_op.get(str(op), 0) + flops
    return total, by_op


LENGTHS = [(48, 16), (31, 9), (64, 24)]


@pytest.fixture(scope="module")
def tiny_init_bart(tmp_path_factory) -> Path:
    """A tiny BART as `init-model --arch bart --size tiny` builds it."""
    from crashtransformer.models.building import build_model

    texts = [f"Unit {i} failed to yield and struck Unit {i + 1} on Main St at {i} pm. Nobody was hurt."
             for i in range(200)]
    return build_model("bart", "tiny", texts, tmp_path_factory.mktemp("roofline_bart"))


def test_train_flops_match_the_flop_counter_with_eager_attention(tiny_init_bart):
    """Eager attention runs every matmul as aten.mm/addmm/bmm, all of which the counter counts:
    the formula (6 N tokens split by stack + attention + cross-attention + LM head) agrees to
    rounding. Layer norms, softmax, GELU and the loss are counted by neither."""
    from transformers import AutoConfig

    counted, _ = _counted_train_flops(tiny_init_bart, LENGTHS, "eager")
    estimated = roofline.seq2seq_train_flops(AutoConfig.from_pretrained(tiny_init_bart),
                                             [s for s, _ in LENGTHS], [t for _, t in LENGTHS])
    assert estimated == pytest.approx(counted, rel=0.02)


def test_flop_counter_misses_the_cpu_sdpa_kernel(tiny_init_bart):
    """With the default SDPA attention on a CPU, the scores and values run inside
    aten._scaled_dot_product_flash_attention_for_cpu, which FlopCounterMode has no formula for
    (it has them for the CUDA flash/efficient/cudnn kernels): the counter is short by exactly the
    attention terms (here ~15%), and the formula's dense part still matches it."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_init_bart)
    counted, by_op = _counted_train_flops(tiny_init_bart, LENGTHS, "sdpa")
    sources, targets = [s for s, _ in LENGTHS], [t for _, t in LENGTHS]
    estimated = roofline.seq2seq_train_flops(config, sources, targets)
    shape = roofline.shape_of(config)
    attention = 3 * sum(4 * shape.attention * (shape.encoder_layers * s * s + shape.decoder_layers * (t * t + t * s))
                        for s, t in LENGTHS)
    if "aten.bmm" in by_op:  # this torch fell back to the math kernel: everything is counted
        assert estimated == pytest.approx(counted, rel=0.02)
    else:
        assert counted < estimated <= counted * 1.25
        assert estimated - attention == pytest.approx(counted, rel=0.02)


def test_train_flops_of_a_tiny_t5(tiny_t5):
    from transformers import AutoConfig

    counted, _ = _counted_train_flops(tiny_t5, LENGTHS[:2], "eager")
    estimated = roofline.seq2seq_train_flops(AutoConfig.from_pretrained(tiny_t5), [s for s, _ in LENGTHS[:2]],
                                             [t for _, t in LENGTHS[:2]])
    assert estimated == pytest.approx(counted, rel=0.02)


def test_train_flops_by_hand():
    """One layer each, d = attention = 4, ffn 8, vocab 10, S = 3, T = 2."""
    shape = roofline.Shape(d_model=4, attention=4, encoder_layers=1, decoder_layers=1, encoder_ffn=8, decoder_ffn=8,
                           vocab=10)
    encoder = 2 * 3 * (4 * 16 + 2 * 32)  # 768: q k v o and ffn over 3 source tokens
    decoder = 2 * 2 * (6 * 16 + 2 * 32) + 2 * 3 * (2 * 16)  # 640 + 192: cross k, v over the source
    attention = 4 * 4 * (3 * 3 + 2 * 2 + 2 * 3)  # 304
    head = 2 * 2 * 4 * 10  # 160
    assert roofline.seq2seq_forward_flops(shape, 3, 2) == encoder + decoder + attention + head
    assert roofline.seq2seq_train_flops(shape, [3, 3], [2, 2]) == 2 * 3 * (encoder + decoder + attention + head)
    with pytest.raises(ValueError):
        roofline.seq2seq_train_flops(shape, [3, 3], [2])


def test_mfu():
    assert roofline.mfu(250e12, 1000e12) == pytest.approx(0.25)
    assert roofline.mfu(1e12, None) is None


@pytest.mark.parametrize("name, expected", [
    ("NVIDIA H200", "H200 SXM"), ("NVIDIA H200 NVL", "H200 NVL"), ("NVIDIA H100 80GB HBM3", "H100 SXM"),
    ("NVIDIA H100 PCIe", "H100 PCIe"), ("NVIDIA A100-SXM4-80GB", "A100 80GB SXM"),
    ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe"), ("NVIDIA L4", "L4"), ("NVIDIA GeForce RTX 4090", "RTX 4090"),
    ("NVIDIA L40S", None), ("Tesla T4", None),
])
def test_gpu_lookup(name, expected):
    spec = roofline.gpu_spec(name)
    assert (spec.name if spec else None) == expected


def test_gpu_table_figures():
    h200 = roofline.gpu_spec("NVIDIA H200")
    assert h200.bf16_flops == pytest.approx(989.5e12) and h200.hbm_bytes_per_s == pytest.approx(4.8e12)
    assert roofline.gpu_spec("NVIDIA A100-SXM4-80GB").bf16_flops == pytest.approx(312e12)


def test_decode_bound_by_hand():
    """decoder weights 1 x (6 x 4 x 4 + 2 x 4 x 8) + LM head 4 x 10 = 200 params = 400 bytes in bf16;
    KV per cached token and sequence 2 x 1 layer x 4 x 2 bytes = 16; 2 crashes x 3 beams, 5 source
    tokens, 2 steps: 400 + 6 x 16 x (1 + 5) = 976 and 400 + 6 x 16 x (2 + 5) = 1072 bytes: 2,048
    bytes at 1,024 B/s is 2 s for 2 x 2 output tokens: 2 tokens/s."""
    shape = roofline.Shape(d_model=4, attention=4, encoder_layers=1, decoder_layers=1, encoder_ffn=8, decoder_ffn=8,
                           vocab=10)
    assert roofline.decoder_weight_params(shape) == 200
    bound = roofline.decode_bandwidth_bound(shape, batch=2, src_tokens=5, new_tokens=2, hbm_bytes_per_s=1024,
                                            num_beams=3)
    assert bound["bytes_per_step"] == pytest.approx(1024)
    assert bound["seconds"] == pytest.approx(2.0)
    assert bound["tokens_per_s"] == pytest.approx(2.0)
    # fp32 weights and cache: twice the bytes, half the rate
    fp32 = roofline.decode_bandwidth_bound(shape, 2, 5, 2, 1024, num_beams=3, weight_bytes=4)
    assert fp32["tokens_per_s"] == pytest.approx(1.0)
    # compute side of the roofline: 2 x 200 x 6 = 2,400 FLOPs a step at 1,200 FLOP/s is 2 s a step
    compute = roofline.decode_bandwidth_bound(shape, 2, 5, 2, 1024, num_beams=3, peak_flops=1200)
    assert compute["seconds"] == pytest.approx(4.0) and compute["tokens_per_s"] == pytest.approx(1.0)
    assert roofline.share(1.0, 2.0) == "50.0%" and roofline.share(1.0, None) == "n/a"


def test_decode_bound_of_bart_base_on_an_h200():
    """Sanity of the scale: bart-base-shaped (6+6 layers, 768 wide, 16k vocab), 64 crashes x 4
    beams of 300 source tokens: the cross-attention cache (1.4 GB a step) dwarfs the weights."""
    shape = roofline.Shape(768, 768, 6, 6, 3072, 3072, 16000)
    h200 = roofline.gpu_spec("NVIDIA H200")
    bound = roofline.decode_bandwidth_bound(shape, 64, 300, 128, h200.hbm_bytes_per_s, num_beams=4)
    weights = roofline.decoder_weight_params(shape) * 2
    assert weights < 0.2 * bound["bytes_per_step"]
    assert 1e4 < bound["tokens_per_s"] < 1e6
