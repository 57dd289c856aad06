"""Benchmarks (``make bench``): figures measured against a baseline taken in the same run.

Each module (``bench.intake``, ``bench.build``) exposes ``run() -> dict`` and
``report(result) -> str``. Benchmarks are not tests: nothing here asserts a time.
"""
