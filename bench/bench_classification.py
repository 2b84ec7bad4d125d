"""Benchmark of fine-tuned classifiers and taggers against what a user would otherwise use.

    python bench/bench_classification.py split [--out_dir data/generated/ciss]
        ciss_train.csv (2017-2019) and ciss_2020.csv from ../shared/data, for `train`.
    python bench/bench_classification.py ciss --model DIR [--limit N]
        CISS 2020 manner of collision (MANCOLL_LABEL from SUMMARY): the fine-tuned classifier
        (trained on 2017-2019, see docs/classification-and-tagging.md) vs the majority class of
        2017-2019 vs the offline plan extractor's collision manner (plan.primary_manner ->
        catalogue MANNER_BY_KEY[key].mancoll). Accuracy, macro-F1, crashes/s, and the ratios.
    python bench/bench_classification.py ner --model DIR [--n 500 --seed 2024]
        Entity-level P/R/F1 (seqeval) of a tagger on synthetic crashes from a seed it never
        trained on, vs the offline plan extractor's own entity spans scored the same way.

Single-threaded torch (the machine is shared); timings are wall-clock on this CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "ciss_narratives_2017_2020.csv"
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _scores(truth: list[str], predicted: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(truth))  # macro over the real classes; a "no answer" prediction only costs recall
    return {"accuracy": float(accuracy_score(truth, predicted)),
            "macro_f1": float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))}


def _line(name: str, scores: dict, seconds: float, rows: int) -> None:
    rate = f"{rows / seconds:9.1f}" if seconds > 0 else "        -"
    print(f"  {name:<44} accuracy {scores['accuracy']:.4f}   macro-F1 {scores['macro_f1']:.4f}   crashes/s {rate}")


def classify(model_dir: str, texts: list[str], max_length: int, batch_size: int) -> list[str]:
    from transformers import pipeline

    from crashtransformer.models.loading import load_model, load_tokenizer

    model = load_model(model_dir, "classification")
    pipe = pipeline("text-classification", model=model, tokenizer=load_tokenizer(model_dir), device="cpu")
    return [o["label"] for o in pipe(texts, batch_size=batch_size, truncation=True, max_length=max_length)]


def extractor_labels(texts: list[str], code_to_label: dict[int, str]) -> tuple[list[str], list[str]]:
    """(strict, fallback): strict has no answer when no collision is found; fallback reads that as
    MANCOLL 0 (no collision with a vehicle in transport)."""
    from crashtransformer.plan.catalogue import MANNER_BY_KEY
    from crashtransformer.plan.graph import extract_graph, primary_manner

    strict, fallback = [], []
    for text in texts:
        manner = primary_manner(extract_graph(text))
        label = code_to_label[MANNER_BY_KEY[manner].mancoll] if manner else "(none)"
        strict.append(label)
        fallback.append(label if manner else code_to_label[0])
    return strict, fallback


def split_ciss(out_dir: str) -> None:
    """ciss_train.csv (2017-2019) and ciss_2020.csv (2020) from the shared CISS file, for `train`."""
    import pandas as pd

    if not DATA.is_file():
        sys.exit(f"needs {DATA} (real CISS narratives); absent here")
    data = pd.read_csv(DATA, dtype={"CASEID": str, "CASENUMBER": str})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("ciss_train.csv", data[data.CRASHYEAR <= 2019]), ("ciss_2020.csv", data[data.CRASHYEAR == 2020])):
        rows.to_csv(out / name, index=False)
        print(f"{out / name}: {len(rows)} rows")


def bench_ciss(model_dir: str, limit: int | None, max_length: int, batch_size: int) -> None:
    import pandas as pd

    data = pd.read_csv(DATA)
    train, test = data[data.CRASHYEAR <= 2019], data[data.CRASHYEAR == 2020]
    if limit:
        test = test.head(limit)
    texts, truth = test.SUMMARY.tolist(), test.MANCOLL_LABEL.tolist()
    code_to_label = dict(zip(data.MANCOLL, data.MANCOLL_LABEL))
    print(f"CISS 2020: {len(texts)} crashes, {test.MANCOLL_LABEL.nunique()} labels; trained on 2017-2019 ({len(train)})")

    majority = train.MANCOLL_LABEL.value_counts().idxmax()
    baseline = _scores(truth, [majority] * len(truth))
    _line(f"majority class ({majority[:20]})", baseline, 0, len(texts))

    started = time.perf_counter()
    strict, fallback = extractor_labels(texts, code_to_label)
    extractor_seconds = time.perf_counter() - started
    extractor = _scores(truth, strict)
    _line("plan extractor manner (none = no answer)", extractor, extractor_seconds, len(texts))
    extractor_fallback = _scores(truth, fallback)
    _line("plan extractor manner (none -> MANCOLL 0)", extractor_fallback, extractor_seconds, len(texts))

    started = time.perf_counter()
    predicted = classify(model_dir, texts, max_length, batch_size)
    model_seconds = time.perf_counter() - started
    model = _scores(truth, predicted)
    _line(f"fine-tuned {Path(model_dir).parent.name or model_dir}", model, model_seconds, len(texts))

    best_extractor = max(extractor["macro_f1"], extractor_fallback["macro_f1"])
    print(f"  macro-F1 ratio: fine-tuned / majority {model['macro_f1'] / max(baseline['macro_f1'], 1e-9):.2f}x, "
          f"fine-tuned / best extractor {model['macro_f1'] / max(best_extractor, 1e-9):.2f}x")
    print(f"  speed ratio: extractor / fine-tuned crashes/s "
          f"{(len(texts) / extractor_seconds) / (len(texts) / model_seconds):.1f}x")
    from sklearn.metrics import classification_report

    print(classification_report(truth, predicted, digits=3, zero_division=0))


def bench_ner(model_dir: str, n: int, seed: int, max_length: int) -> None:
    import numpy as np
    import torch

    from crashtransformer.models.loading import load_model, load_tokenizer
    from crashtransformer.plan.graph import extract_graph
    from crashtransformer.prepare.synthetic.generator import generate_records
    from crashtransformer.train.tagging import TaggedText, encode_tagged, entity_scores, tag_sequences, word_spans, \
        word_tags

    rows = [TaggedText(r.crash_id, r.narrative, [(s["start"], s["end"], s["label"]) for s in r.metadata["spans"]],
                       None) for r in generate_records(n, seed=seed)]
    model, tokenizer = load_model(model_dir, "ner"), load_tokenizer(model_dir)
    tag2id = model.config.label2id
    id2tag = {int(i): t for i, t in model.config.id2label.items()}
    dataset, _, truncated = encode_tagged(rows, tokenizer, max_length, tag2id)
    started = time.perf_counter()
    predictions = []
    model.eval()
    with torch.no_grad():
        for row in dataset:
            logits = model(input_ids=torch.tensor([row["input_ids"]])).logits[0]
            predictions.append(logits.argmax(-1).numpy())
    seconds = time.perf_counter() - started
    truth, predicted = [], []
    for row, prediction in zip(dataset, predictions):
        t, p = tag_sequences(np.array([prediction]), np.array([row["labels"]]), id2tag)
        truth += t
        predicted += p
    scores = entity_scores(truth, predicted)
    print(f"synthetic held-out (seed {seed}, {n} crashes, {truncated} truncated at {max_length} tokens):")
    print(f"  fine-tuned tagger   entity P {scores['precision']:.4f}  R {scores['recall']:.4f}  F1 {scores['f1']:.4f}"
          f"   crashes/s {n / seconds:.1f}")

    # the offline plan extractor's entity spans (units it names), scored on UNIT entities the same way
    started = time.perf_counter()
    unit_truth, unit_predicted = [], []
    for row in rows:
        encoding = tokenizer(row.text, truncation=True, max_length=max_length).encodings[0]
        words = word_spans(encoding.offsets, encoding.word_ids)
        graph = extract_graph(row.text)
        found = sorted((e["evidence_span"][0], e["evidence_span"][1], "UNIT") for e in graph.get("entities", [])
                       if e.get("evidence_span") and e.get("type") == "unit")  # the extractor keeps one mention per unit
        units = [s for s in row.spans if s[2] == "UNIT"]
        unit_truth.append([word_tags(words, units)[w] for w in sorted(words)])
        unit_predicted.append([word_tags(words, found)[w] for w in sorted(words)])
    extractor_seconds = time.perf_counter() - started
    units = entity_scores(unit_truth, unit_predicted)
    print(f"  plan extractor UNIT mentions (first per unit)  P {units['precision']:.4f}  R {units['recall']:.4f}  F1 {units['f1']:.4f}"
          f"   crashes/s {n / extractor_seconds:.1f}")
    from seqeval.metrics import classification_report

    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    per_type = {k: round(float(v["f1-score"]), 4) for k, v in report.items() if k.isupper()}
    print(f"  fine-tuned per type F1: {per_type}; UNIT F1 ratio tagger / extractor "
          f"{report['UNIT']['f1-score'] / max(units['f1'], 1e-9):.2f}x")


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("split", "ciss", "ner"))
    parser.add_argument("--model", help="a train output's final_model directory (ciss, ner)")
    parser.add_argument("--out_dir", default="data/generated/ciss", help="split: where the two CSV files go")
    parser.add_argument("--limit", type=int, default=None, help="ciss: score only the first N 2020 crashes")
    parser.add_argument("--n", type=int, default=500, help="ner: synthetic crashes to tag")
    parser.add_argument("--seed", type=int, default=2024, help="ner: generator seed (not the training one)")
    parser.add_argument("--max_length", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=32)
    args = parser.parse_args()
    if args.what == "split":
        return split_ciss(args.out_dir)
    if not args.model:
        parser.error(f"{args.what} needs --model")
    torch.set_num_threads(1)
    if args.what == "ciss":
        bench_ciss(args.model, args.limit, args.max_length, args.batch_size)
    else:
        bench_ner(args.model, args.n, args.seed, args.max_length)


if __name__ == "__main__":
    main()
