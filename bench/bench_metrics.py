"""Benchmark: text metrics (ROUGE + BLEU + length + faithfulness) on 10,000 real pairs.

Pairs come from ../shared/data/cris_narratives_llm_summaries.csv: the reference is the
machine-written summary, the prediction a slice of the narrative (its first sentence, first two
sentences, or last sentence, in turn), and the narrative itself feeds faithfulness. Side by side:

- baseline: what a user writes with the libraries directly: rouge-score per pair, sacrebleu
  corpus BLEU once per order (BLEU-1..4) and sentence BLEU per pair (ROUGE + BLEU only);
- ours, 1 process: crashtransformer.metrics.suite.text_rows (ROUGE + BLEU + length + faithfulness);
- ours, 2 processes: the same split over two worker processes.

Run: python bench/bench_metrics.py [--pairs 10000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "cris_narratives_llm_summaries.csv"


def load_pairs(count: int) -> tuple[list[str], list[str], list[str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = [(r["Narrative"], r["summary"]) for r in csv.DictReader(handle) if r["Narrative"] and r["summary"]]
    predictions, references, narratives = [], [], []
    for i in range(count):
        narrative, summary = rows[i % len(rows)]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", narrative.strip()) if s]
        variant = (i // len(rows)) % 3
        prediction = {0: sentences[0], 1: " ".join(sentences[:2]), 2: sentences[-1]}[variant]
        predictions.append(prediction)
        references.append(summary)
        narratives.append(narrative)
    return predictions, references, narratives


def baseline(predictions: list[str], references: list[str]) -> None:
    import sacrebleu
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    for p, r in zip(predictions, references):
        scorer.score(r, p)
    for order in range(1, 5):
        BLEU(max_ngram_order=order).corpus_score(predictions, [references])
    for p, r in zip(predictions, references):
        sacrebleu.sentence_bleu(p, [r])


def ours(predictions, references, narratives, workers: int) -> None:
    from crashtransformer.metrics.suite import aggregate, text_rows

    rows = text_rows(predictions, references, narratives, None, workers=workers)
    aggregate(rows)


def timed(label: str, function, pairs: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<58} {best:7.2f} s  {pairs / best:8.0f} pairs/s", flush=True)
    return pairs / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if not DATA.is_file():
        sys.exit(f"needs {DATA} (real crash narratives)")
    import os

    predictions, references, narratives = load_pairs(args.pairs)
    print(f"{args.pairs} pairs from {DATA.name}; {os.cpu_count()} CPU cores")
    base = timed("baseline: rouge-score + sacrebleu directly (ROUGE+BLEU)",
                 lambda: baseline(predictions, references), args.pairs, args.repeats)
    one = timed("ours, 1 process (ROUGE+BLEU+length+faithfulness)",
                lambda: ours(predictions, references, narratives, 1), args.pairs, args.repeats)
    two = timed("ours, 2 processes (ROUGE+BLEU+length+faithfulness)",
                lambda: ours(predictions, references, narratives, 2), args.pairs, args.repeats)
    print(f"ratio ours(1 process)/baseline: {one / base:.2f}x   ours(2 processes)/baseline: {two / base:.2f}x   "
          f"2 vs 1 process: {two / one:.2f}x")


if __name__ == "__main__":
    main()
