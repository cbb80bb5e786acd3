"""Triage records: storage, reference codes and exports."""
