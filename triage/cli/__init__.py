"""The `triage` command: check a report, list the vocabulary, validate, diff and release a knowledge base."""

from triage.cli.commands import cli, main

__all__ = ["cli", "main"]
