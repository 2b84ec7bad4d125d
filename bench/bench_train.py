"""Training throughput: our batching (dynamic padding + length grouping) against the seed-style
baseline (every input padded to max_length 512, random order), side by side on the same model,
data, seed and number of optimizer steps.

    python bench/bench_train.py [--steps 30] [--batch_size 8] [--rows 800]
    python bench/bench_train.py --device cuda --bf16 --size base-like --batch_size 32   # on a GPU

Reports samples/s, real (non-pad) input tokens/s, the ratio, and the loss each run reaches:
mean training loss over the last 10 steps and loss on the same held-out rows. Both runs pad
labels with -100, so the losses compare like with like. Needs ../shared/data (real narratives)
or --data (a CSV with narrative and summary columns, e.g. `prepare-data --source synthetic`).

--device cuda: both runs on the GPU, --bf16 for both. The baseline keeps the TrainingArguments
defaults (fp32 matmuls, no data-loader workers); ours takes `train`'s device choices from
train/common.py trainer_arguments (TF32, fused AdamW, workers, pinned memory, length grouping)
and pads to a multiple of 8 under bf16 as `train` does. Also reported there: peak GPU memory
(torch.cuda.max_memory_allocated, per run), model TFLOP/s and MFU (bench/roofline.py: useful
FLOPs of the real, non-pad tokens over the GPU's peak dense bf16 FLOP/s).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "cris_narratives_llm_summaries.csv"
HELD_OUT = 64  # rows kept aside to compare the loss both runs reach


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per run")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--rows", type=int, default=800, help="training rows read from the file")
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--size", default="small", choices=("tiny", "small", "base-like"),
                        help="init-model size of the BART both runs train (small: the shipped model's shape; "
                             "base-like: bart-base's)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--bf16", action="store_true", help="bf16 mixed precision for both runs (cuda)")
    return parser.parse_args()


# What `train` decides by device (train/common.py trainer_arguments); ours takes these from it.
DEVICE_KEYS = ("bf16", "fp16", "tf32", "optim", "dataloader_num_workers", "dataloader_persistent_workers",
               "dataloader_pin_memory", "use_cpu", "train_sampling_strategy")


def precision(args) -> bool:
    """bf16 as `train --bf16` resolves it (refused on a GPU without it, fp32 on a CPU)."""
    from crashtransformer.train.common import resolve_precision

    return resolve_precision(False, args.bf16, "bart", cuda=args.device == "cuda")[1]


def training_arguments(args, ours: bool, out: Path) -> dict:
    """Seq2SeqTrainingArguments of one run: the bench's schedule, and the device choices."""
    common = dict(
        output_dir=str(out), max_steps=args.steps, per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=16, learning_rate=args.learning_rate, warmup_steps=3, weight_decay=0.01,
        seed=42, data_seed=42, logging_steps=1, save_strategy="no", eval_strategy="no", report_to="none",
        disable_tqdm=True, include_num_input_tokens_seen="non_padding")
    sampling = "group_by_length" if ours else "random"
    if args.device == "cpu":
        return {**common, "train_sampling_strategy": sampling, "use_cpu": True, "dataloader_pin_memory": False}
    bf16 = precision(args)
    if not ours:  # what a user writes: the defaults, bf16 when asked for
        return {**common, "train_sampling_strategy": sampling, "bf16": bf16}
    from crashtransformer.core.config import TrainConfig, resolve_config
    from crashtransformer.train.common import trainer_arguments

    cfg = resolve_config(TrainConfig, None, {"batch_size": args.batch_size, "group_by_length": True})
    chosen = trainer_arguments(cfg, out, False, bf16, False, cuda=True)
    return {**common, **{key: chosen[key] for key in DEVICE_KEYS if key in chosen}}


def build_model_dir(records, size: str, out: Path) -> Path:
    from crashtransformer.models.building import build_model

    texts = [r.narrative for r in records] + [r.summary for r in records]
    return build_model("bart", size, texts, out)


def step_clock():
    """A callback noting the time at the end of each optimizer step (the loss is logged every
    step, a GPU sync, so the times are the GPU's too): the steady rate leaves out the first
    steps' one-off costs (CUDA and cuBLAS start-up, worker processes, allocator growth)."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter())

    return StepClock()


def steady_samples_per_s(times: list[float], batch_size: int) -> float | None:
    """Samples/s between the end of step `skip` and the last step (skip: 5, or a third of short runs)."""
    skip = min(5, len(times) // 3)
    if len(times) - 1 - skip < 1:
        return None
    return (len(times) - 1 - skip) * batch_size / (times[-1] - times[skip])


def run(model_dir: Path, train_set, eval_set, tokenizer, ours: bool, args, out: Path) -> dict:
    """Train a fresh copy of the model for args.steps steps; return throughput and loss."""
    import torch
    from transformers import DataCollatorForSeq2Seq, PrinterCallback, Seq2SeqTrainer, Seq2SeqTrainingArguments

    from crashtransformer.models.loading import load_model

    model = load_model(str(model_dir), "seq2seq")
    arguments = training_arguments(args, ours, out)
    padding = dict(padding="longest") if ours else dict(padding="max_length", max_length=512)
    if ours and arguments.get("bf16"):
        padding["pad_to_multiple_of"] = 8  # as train/seq2seq.py pads under mixed precision
    collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100, **padding)
    training_args = Seq2SeqTrainingArguments(**arguments)
    trainer = Seq2SeqTrainer(model=model, args=training_args, data_collator=collator, train_dataset=train_set,
                             processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)  # no per-step dicts on stdout
    clock = step_clock()
    trainer.add_callback(clock)
    cuda = args.device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.train()
    if cuda:
        torch.cuda.synchronize()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_gpu_mb = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    # Held-out loss with the same (dynamic) padding for both: only the trained weights differ.
    trainer.data_collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100)
    held_out = trainer.evaluate(eval_set)["eval_loss"]
    samples, real_tokens = args.steps * args.batch_size, trainer.state.num_input_tokens_seen
    settings = {key: getattr(training_args, key) for key in DEVICE_KEYS if hasattr(training_args, key)}
    del trainer, model
    if cuda:
        import gc

        gc.collect()
        torch.cuda.empty_cache()  # the next run starts from an empty GPU
    # CPU seconds (all threads of this process) hardly change when other jobs share the cores;
    # wall-clock rates do, so both are reported.
    return {"seconds": seconds, "samples_per_s": samples / seconds, "samples_per_cpu_s": samples / cpu_seconds,
            "real_tokens_per_s": real_tokens / seconds,
            "train_loss_last10": sum(losses[-10:]) / len(losses[-10:]), "held_out_loss": held_out,
            "peak_gpu_mb": peak_gpu_mb, "samples": samples, "settings": settings,
            "steady_samples_per_s": steady_samples_per_s(clock.times, args.batch_size)}


def flops_per_sample(model_dir: Path, train_set) -> float:
    """Mean model FLOPs of one training example (forward + backward over its real tokens; roofline.py)."""
    from roofline import seq2seq_train_flops

    from crashtransformer.models.loading import load_config

    sources = train_set["length"]
    targets = [len(labels) for labels in train_set["labels"]]
    return seq2seq_train_flops(load_config(str(model_dir)), sources, targets) / len(sources)


def print_gpu_table(baseline: dict, ours: dict, per_sample: float) -> None:
    from roofline import gpu_spec, mfu

    import torch

    name = torch.cuda.get_device_name()
    spec = gpu_spec(name)
    peak = spec.bf16_flops if spec else None
    print(f"GPU {name}: peak dense bf16 {peak / 1e12:.0f} TFLOP/s ({spec.source})" if spec else
          f"GPU {name}: not in bench/roofline.py GPU_SPECS, MFU n/a")
    print(f"model FLOPs per training example (real tokens, forward + backward): {per_sample / 1e9:.2f} GFLOP")
    print("TFLOP/s and MFU at the steady rate (after the first steps), over real tokens only")
    print(f"{'':34}{'samples/s':>10}{'steady':>8}{'real tok/s':>12}{'TFLOP/s':>9}{'MFU':>7}{'peak GPU MB':>12}"
          f"{'train loss':>11}{'held-out':>9}{'seconds':>8}")
    for name, result in (("baseline (pad to 512, random)", baseline), ("ours (train's arguments)", ours)):
        steady = result["steady_samples_per_s"] or result["samples_per_s"]
        achieved = steady * per_sample
        utilization = mfu(achieved, peak)
        print(f"{name:34}{result['samples_per_s']:10.1f}{steady:8.1f}{result['real_tokens_per_s']:12.0f}"
              f"{achieved / 1e12:9.1f}{f'{utilization:.1%}' if utilization is not None else 'n/a':>7}"
              f"{result['peak_gpu_mb']:12.0f}{result['train_loss_last10']:11.3f}{result['held_out_loss']:9.3f}"
              f"{result['seconds']:8.1f}")
    for name, result in (("baseline", baseline), ("ours", ours)):
        print(f"{name} arguments: " + ", ".join(f"{k}={v}" for k, v in result["settings"].items()))
    print(f"ratio (ours / baseline): samples/s x{ours['samples_per_s'] / baseline['samples_per_s']:.2f}, "
          f"real tokens/s x{ours['real_tokens_per_s'] / baseline['real_tokens_per_s']:.2f}, peak GPU memory "
          f"x{ours['peak_gpu_mb'] / baseline['peak_gpu_mb']:.2f}; held-out loss "
          f"{ours['held_out_loss']:.3f} vs {baseline['held_out_loss']:.3f}")


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # the tokenizers were used before the data-loader workers fork: say so once, not in each worker
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    from crashtransformer.models.loading import load_tokenizer
    from crashtransformer.data.records import read_training_file
    from crashtransformer.plan.policy import ModelInputs
    from crashtransformer.train.seq2seq import encode_records

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if not Path(args.data).is_file():
        sys.exit(f"needs {args.data} (../shared/data, real narratives; or --data FILE)")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            sys.exit("--device cuda: no CUDA GPU here")
    records = read_training_file(args.data)
    train_records, held_out = records[:args.rows], records[-HELD_OUT:]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_model_dir(train_records, args.size, Path(tmp) / "model")
        tokenizer = load_tokenizer(str(model_dir))
        inputs = ModelInputs(tokenizer, "bart", 512, no_plan=False, want_graph=False)  # as train builds them
        train_set, truncated = encode_records(train_records, inputs, 128)
        eval_set, _ = encode_records(held_out, inputs, 128)
        per_sample = flops_per_sample(model_dir, train_set)
        lengths = sorted(train_set["length"])
        where = f"CPU {os.cpu_count()} cores" if args.device == "cpu" else \
            f"cuda{' bf16' if precision(args) else ' fp32'}, {os.cpu_count()} cores"
        print(f"data: {len(train_set)} training rows (input tokens median {lengths[len(lengths) // 2]}, "
              f"max {lengths[-1]}, {truncated} cut at 512), {len(eval_set)} held-out rows; "
              f"{args.steps} steps x batch {args.batch_size}, bart-{args.size}, {where}")
        baseline = run(model_dir, train_set, eval_set, tokenizer, False, args, Path(tmp) / "baseline")
        ours = run(model_dir, train_set, eval_set, tokenizer, True, args, Path(tmp) / "ours")
    if args.device == "cuda":
        print_gpu_table(baseline, ours, per_sample)
        return
    print(f"{'':34}{'samples/s':>10}{'samples/cpu-s':>14}{'real tok/s':>12}{'train loss':>12}{'held-out loss':>15}"
          f"{'seconds':>9}")
    for name, result in (("baseline (pad to 512, random)", baseline), ("ours (dynamic pad, by length)", ours)):
        print(f"{name:34}{result['samples_per_s']:10.2f}{result['samples_per_cpu_s']:14.2f}{result['real_tokens_per_s']:12.0f}"
              f"{result['train_loss_last10']:12.3f}{result['held_out_loss']:15.3f}{result['seconds']:9.1f}")
    print(f"ratio (ours / baseline): samples/s x{ours['samples_per_s'] / baseline['samples_per_s']:.2f}, "
          f"samples per CPU-second x{ours['samples_per_cpu_s'] / baseline['samples_per_cpu_s']:.2f}, "
          f"real tokens/s x{ours['real_tokens_per_s'] / baseline['real_tokens_per_s']:.2f}; held-out loss "
          f"{ours['held_out_loss']:.3f} vs {baseline['held_out_loss']:.3f}")
    print(f"model GFLOP/s (real tokens, roofline.py): ours {ours['samples_per_s'] * per_sample / 1e9:.1f}, "
          f"baseline {baseline['samples_per_s'] * per_sample / 1e9:.1f}; MFU n/a on a CPU")


if __name__ == "__main__":
    main()
