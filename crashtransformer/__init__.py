"""CrashTransformer: causal summaries of police crash narratives, and the tools to fine-tune
the models that write them. The stages, bottom up: core, data, plan, metrics, models, train and
infer, then the commands run, evaluate and prepare, and cli on top (README, "Architecture")."""

from crashtransformer.core.version import __version__

__all__ = ["__version__"]
