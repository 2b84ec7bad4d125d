"""The package version, here so that core reads it without importing the package root."""

__version__ = "0.1.0"  # keep equal to pyproject.toml's [project] version
