"""Benchmarks of runbook_engine: build, runbook run, engine round trips, script proofs.

Run with ``bench/run`` (``--quick`` for fewer repetitions); see bench/README.md.
"""
