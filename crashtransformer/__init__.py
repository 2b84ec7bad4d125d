"""CrashTransformer: causal summaries of police crash narratives, and the tools to fine-tune
the models that write them."""

__version__ = "0.1.0"
