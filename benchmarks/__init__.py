"""Speed, memory and start-up benchmarks: `python -m benchmarks` (see benchmarks/RESULTS.md)."""
