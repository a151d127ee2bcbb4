"""Benchmarks of venus_core's training loop (``make bench``; see bench/README.md).

Timings live here, never in tests: ``python -m bench.run [--quick]`` prints a table and writes
``bench/results/bench.json``.
"""

# venus_core first, before any benchmark imports torch: it sets what torch reads once at its first
# allocation (transparent huge pages, venus_core/__init__.py), as the CLI and the dashboard have it.
import venus_core  # noqa: E402, F401
