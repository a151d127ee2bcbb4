"""Benchmarks of venus_core's training loop (``make bench``; see bench/README.md).

Timings live here, never in tests: ``python -m bench.run [--quick]`` prints a table and writes
``bench/results/bench.json``.
"""
