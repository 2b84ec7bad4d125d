"""Training throughput: our batching (dynamic padding + length grouping) against the seed-style
baseline (every input padded to max_length 512, random order), side by side on the same model,
data, seed and number of optimizer steps.

    python bench/bench_train.py [--steps 30] [--batch_size 8] [--rows 800]

Reports samples/s, real (non-pad) input tokens/s, the ratio, and the loss each run reaches:
mean training loss over the last 10 steps and loss on the same held-out rows. Both runs pad
labels with -100, so the losses compare like with like. Needs ../shared/data (real narratives).
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
    parser.add_argument("--size", default="small", help="init-model size of the BART both runs train")
    return parser.parse_args()


def build_model_dir(records, size: str, out: Path) -> Path:
    from crashtransformer.models.building import build_model

    texts = [r.narrative for r in records] + [r.summary for r in records]
    return build_model("bart", size, texts, out)


def run(model_dir: Path, train_set, eval_set, tokenizer, ours: bool, args, out: Path) -> dict:
    """Train a fresh copy of the model for args.steps steps; return throughput and loss."""
    from transformers import DataCollatorForSeq2Seq, PrinterCallback, Seq2SeqTrainer, Seq2SeqTrainingArguments

    from crashtransformer.models.loading import load_model

    model = load_model(str(model_dir), "seq2seq")
    padding = dict(padding="longest") if ours else dict(padding="max_length", max_length=512)
    collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100, **padding)
    training_args = Seq2SeqTrainingArguments(
        output_dir=str(out), max_steps=args.steps, per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=16, learning_rate=args.learning_rate, warmup_steps=3, weight_decay=0.01,
        train_sampling_strategy="group_by_length" if ours else "random", seed=42, data_seed=42,
        logging_steps=1, save_strategy="no", eval_strategy="no", report_to="none", disable_tqdm=True,
        include_num_input_tokens_seen="non_padding", use_cpu=True, dataloader_pin_memory=False)
    trainer = Seq2SeqTrainer(model=model, args=training_args, data_collator=collator, train_dataset=train_set,
                             processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)  # no per-step dicts on stdout
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    # Held-out loss with the same (dynamic) padding for both: only the trained weights differ.
    trainer.data_collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100)
    held_out = trainer.evaluate(eval_set)["eval_loss"]
    samples = args.steps * args.batch_size
    # CPU seconds (all threads of this process) hardly change when other jobs share the cores;
    # wall-clock rates do, so both are reported.
    return {"seconds": seconds, "samples_per_s": samples / seconds, "samples_per_cpu_s": samples / cpu_seconds,
            "real_tokens_per_s": trainer.state.num_input_tokens_seen / seconds,
            "train_loss_last10": sum(losses[-10:]) / len(losses[-10:]), "held_out_loss": held_out}


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    from crashtransformer.models.loading import load_tokenizer
    from crashtransformer.data.records import read_training_file
    from crashtransformer.plan.policy import ModelInputs
    from crashtransformer.train.seq2seq import encode_records

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if not Path(args.data).is_file():
        sys.exit(f"needs {args.data} (../shared/data, real narratives)")
    records = read_training_file(args.data)
    train_records, held_out = records[:args.rows], records[-HELD_OUT:]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_model_dir(train_records, args.size, Path(tmp) / "model")
        tokenizer = load_tokenizer(str(model_dir))
        inputs = ModelInputs(tokenizer, "bart", 512, no_plan=False, want_graph=False)  # as train builds them
        train_set, truncated = encode_records(train_records, inputs, 128)
        eval_set, _ = encode_records(held_out, inputs, 128)
        lengths = sorted(train_set["length"])
        print(f"data: {len(train_set)} training rows (input tokens median {lengths[len(lengths) // 2]}, "
              f"max {lengths[-1]}, {truncated} cut at 512), {len(eval_set)} held-out rows; "
              f"{args.steps} steps x batch {args.batch_size}, bart-{args.size}, CPU {os.cpu_count()} cores")
        baseline = run(model_dir, train_set, eval_set, tokenizer, False, args, Path(tmp) / "baseline")
        ours = run(model_dir, train_set, eval_set, tokenizer, True, args, Path(tmp) / "ours")
    print(f"{'':34}{'samples/s':>10}{'samples/cpu-s':>14}{'real tok/s':>12}{'train loss':>12}{'held-out loss':>15}"
          f"{'seconds':>9}")
    for name, result in (("baseline (pad to 512, random)", baseline), ("ours (dynamic pad, by length)", ours)):
        print(f"{name:34}{result['samples_per_s']:10.2f}{result['samples_per_cpu_s']:14.2f}{result['real_tokens_per_s']:12.0f}"
              f"{result['train_loss_last10']:12.3f}{result['held_out_loss']:15.3f}{result['seconds']:9.1f}")
    print(f"ratio (ours / baseline): samples/s x{ours['samples_per_s'] / baseline['samples_per_s']:.2f}, "
          f"samples per CPU-second x{ours['samples_per_cpu_s'] / baseline['samples_per_cpu_s']:.2f}, "
          f"real tokens/s x{ours['real_tokens_per_s'] / baseline['real_tokens_per_s']:.2f}; held-out loss "
          f"{ours['held_out_loss']:.3f} vs {baseline['held_out_loss']:.3f}")


if __name__ == "__main__":
    main()
