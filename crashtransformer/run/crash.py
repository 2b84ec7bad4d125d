"""One chunk of crashes through the summarizer: graph and plan, ranked candidates, artifact rows.

The generation itself (inputs, candidates, rerank) is infer.summarizer's, shared with
`evaluate --model`; this module turns its results into the rows of crash_graphs.jsonl and
crash_summaries.jsonl, with per-crash metrics against a reference when the input has one.
"""

from __future__ import annotations

from crashtransformer.infer.summarizer import CrashSummary, Summarizer
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
        """Graph and summary rows of `records`; `on_progress` hears how many crashes are generated."""
        results = self.summarizer.summarize(records, on_progress)
        self.last_generated_tokens = self.summarizer.count_tokens(results)
        graphs = [result.planned.graph for result in results]
        return graphs, [self._summary_row(r, result, source, digest) for r, result in zip(records, results)]

    @staticmethod
    def _summary_row(record, result: CrashSummary, source: str, digest: str) -> dict:
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
