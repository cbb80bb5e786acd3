"""The triage knowledge base as data files (*.toml); see README.md here for the format."""
