"""One chunk of crashes through the summarizer: graph and plan, ranked candidates, artifact rows.

The generation itself (inputs, candidates, rerank) is infer.summarizer's, shared with
`evaluate --model`; this module turns its results into the rows of crash_graphs.jsonl and
crash_summaries.jsonl, with per-crash metrics against a reference when the input has one.
"""

from __future__ import annotations

from crashtransformer.infer.summarizer import CrashSummary, Summarizer, choose_all, count_generated_tokens
from crashtransformer.metrics.text import text_metrics_example, word_count
from crashtransformer.plan.graph import read_graphs_file


class CrashProcessor:
    """Turns crash records into artifact rows through one Summarizer."""

    def __init__(self, summarizer: Summarizer):
        self.summarizer = summarizer
        self.last_generated_tokens = 0

    @classmethod
    def from_config(cls, cfg, model_dir: str) -> "CrashProcessor":
        graphs = read_graphs_file(cfg.graphs_file) if cfg.graphs_file else None
        return cls(Summarizer.load(model_dir, cfg.generation, cfg.model_input, cfg.loading, cfg.device, cfg.seed,
                                   graphs))

    def report_sections(self, out_dir, seed: int) -> dict:
        """model, device and generation sections of run_report.json."""
        from crashtransformer.models.loading import read_provenance

        s = self.summarizer
        described = s.describe(seed)
        device = {key: described.pop(key) for key in ("device", "dtype", "batch_size")}
        model = {"directory": s.model_dir, "model_type": s.inputs.family, "parameters": s.model.num_parameters(),
                 **{key: described.pop(key) for key in ("backend", "backend_reason", "quantization")},
                 "provenance": read_provenance(s.model_dir)}
        return {"model": model, "device": device, "generation": described.pop("generation_config") | described}

    def process(self, records: list, source: str, digest: str, on_progress=None) -> tuple[list[dict], list[dict]]:
        """Graph and summary rows of `records`; `on_progress` hears how many crashes are generated.
        The three steps in turn; run/overlap.py runs the first and the last beside the second."""
        planned, model_inputs = self.plan(records)
        found = self.generate(records, model_inputs, on_progress)
        graphs, rows, self.last_generated_tokens = finish_chunk(self.inputs, records, planned, model_inputs, found,
                                                                source, digest)
        return graphs, rows

    @property
    def inputs(self):
        """The model-input builder (plan.policy.ModelInputs): all the CPU steps need of the model."""
        return self.summarizer.inputs

    def plan(self, records: list) -> tuple[list, list]:
        """Graphs, plans and model inputs of `records` (CPU)."""
        return plan_chunk(self.inputs, records)

    def generate(self, records: list, model_inputs: list, on_progress=None) -> list:
        """The candidates of each record (the device)."""
        return self.summarizer.generate(records, model_inputs, on_progress)


def plan_chunk(inputs, records: list) -> tuple[list, list]:
    """(planned crashes, model inputs) of `records`: graphs, plans and prompts, no model needed."""
    return inputs.build_all(records)


def finish_chunk(inputs, records: list, planned: list, model_inputs: list, found: list, source: str, digest: str
                 ) -> tuple[list[dict], list[dict], int]:
    """(graph rows, summary rows, tokens generated) of a chunk whose candidates are `found`: the
    rerank and claim checks, the per-crash metrics, the rows; no model needed."""
    results = choose_all(records, planned, model_inputs, found)
    rows = [summary_row(record, result, source, digest) for record, result in zip(records, results)]
    return [result.planned.graph for result in results], rows, count_generated_tokens(inputs.tokenizer, results)


def summary_row(record, result: CrashSummary, source: str, digest: str) -> dict:
    best = result.best
    metrics = {k: v for k, v in best.quality.items() if k != "hallucinated_list"}
    metrics["narrative_words"] = word_count(record.narrative)
    if record.summary:
        metrics.update(text_metrics_example(best.candidate.text, record.summary, record.narrative))
    return {
        "Crash_ID": record.crash_id,
        "plan_lines": result.planned.plan_lines,
        "candidates": [{"summary": r.candidate.text, "score": round(r.score, 4), "model_score": r.candidate.score}
                       for r in result.ranked],
        "best_summary": best.candidate.text,
        "summary_source": result.source,  # model, or graph: no candidate was clean (infer/summarizer.py)
        "unsupported_claims": [claim.to_dict() for claim in best.claims],
        "reference_summary": record.summary,
        "metrics": metrics,
        "input_truncated": result.truncated,  # the model read only the start of the narrative
        "narrative_original_chars": record.original_chars,  # set when --max_chars cut the narrative
        "source_file": source,
        "source_sha256": digest,
        "row_number": record.row_number,
    }
