"""`make bench`: runs the pipeline benchmark (bench/bench_pipeline.py) with its defaults."""

from __future__ import annotations

import sys

from bench.bench_pipeline import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
