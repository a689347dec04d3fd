"""What one log line costs, and what redaction's shortcuts save of it, in one run.

`python -m bench.bench_logs [-n 20000] [--rounds 3]`

Every line werkbot logs passes `RedactingFilter` (bot/logs.py). Measured here, CPU µs
per line on this thread: a whole `log.info` through werkbot's logging set-up (to a file,
as `werkbot serve` writes standard error) and `redact` alone; as baseline, in the same
run, both again with every pattern run over the whole text, which is what `redact` did
before it skipped the patterns that cannot match (`tests/fuzz/test_fuzz_redact.py` holds
the two equal). The lines are the ones a first contact logs.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

LINES = (
    ("werkbot.adapters.twilio.outbound", "%s %s to %s accepted as %s",
     ("whatsapp", "consent_request", "whatsapp:+49***67", "SM0123456789abcdef0123456789abcdef")),
    ("werkbot.handlers.consent.dialogue", "consent request sent to person %s on %s",
     (10234, "whatsapp")),
    ("werkbot.handlers.consent.holds", "held message %s of person %s", (123456, 10234)),
)


def per_call_us(work: Callable[[], object], n: int) -> float:
    began = time.thread_time()
    for _ in range(n):
        work()
    return (time.thread_time() - began) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from tests.fuzz.test_fuzz_redact import full_scan
    from werkbot.bot import logs

    shipped = logs.redact
    with tempfile.TemporaryDirectory() as work:
        stderr, sys.stderr = sys.stderr, (Path(work) / "stderr.log").open("w")
        try:
            logs.setup_logging("INFO")
            loggers = [(logging.getLogger(name), message, values)
                       for name, message, values in LINES]
            texts = [message % values for _, message, values in LINES]
            results: dict[str, list[float]] = {name: [] for name in (
                "log line", "log line, full scan", "redact", "full scan")}
            for _ in range(args.rounds):
                for variant, redact in (("log line", shipped),
                                        ("log line, full scan", full_scan)):
                    logs.redact = redact  # what the filter calls
                    try:
                        for log, message, values in loggers:
                            results[variant].append(per_call_us(
                                partial(log.info, message, *values), args.n))
                    finally:
                        logs.redact = shipped
                for text in texts:
                    results["redact"].append(per_call_us(partial(shipped, text), args.n))
                    results["full scan"].append(per_call_us(partial(full_scan, text), args.n))
        finally:
            sys.stderr.close()
            sys.stderr = stderr
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, value in medians.items():
        print(f"{name:>19}: {value:6.1f} µs CPU (median over {len(LINES)} lines × "
              f"{args.rounds} rounds)")
    print(f"redact vs full scan: x{medians['redact'] / medians['full scan']:.2f}; a log "
          f"line: x{medians['log line'] / medians['log line, full scan']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
