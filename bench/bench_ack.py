"""CPU per webhook of werkbot's own acknowledgement work, this tree against an earlier one.

`python -m bench.bench_ack [--against REV] [-n 20000] [--rounds 3]`

Every webhook is acknowledged only after it is stored, and on the way the event loop
runs werkbot's own code for it: the body parsed and the signature checked (Twilio) or
the JSON read (Telegram), the event built, its text cleaned and its inbox row made. This
benchmark times exactly that, in one process, without HTTP and without the database
(the load benchmark, `bench_load.py`, measures the whole path under load; this is the
part of it werkbot's code decides, measured without the load's noise). Three mixes:

- `whatsapp-first`: signed Twilio WhatsApp forms, each from a number never seen before
  (the address is normalised from scratch);
- `whatsapp-consented`: the same from 4,000 numbers that write again and again;
- `telegram`: Telegram text updates from 4,000 chats.

Each measurement runs in a child process in the tree being measured (`--against REV`: a
`git worktree` of REV, alternating with this tree), takes the best of five passes over
`n` webhooks and reports microseconds of CPU per webhook for each step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
MIXES = ("whatsapp-first", "whatsapp-consented", "telegram")
PASSES = 5
PUBLIC_URL = "https://bot.example.de"
TOKEN = "fake-auth-token-0123456789abcdef"
FIRST_CONTACT = "Guten Tag, im Keller tropft die Heizung. Wann koennen Sie kommen?"


def _best(step: Callable[[Any], Any], inputs: list[Any], passes: int = PASSES
          ) -> tuple[float, list[Any]]:
    """CPU microseconds per input, the best of `passes` passes, and the last outputs."""
    best, out = float("inf"), []
    for _ in range(passes):
        began = time.process_time()
        out = [step(item) for item in inputs]
        best = min(best, (time.process_time() - began) / len(inputs) * 1e6)
    return best, out


def _twilio(n: int, first: bool) -> dict[str, float]:
    from twilio.request_validator import RequestValidator

    from tests.twilio.payloads import whatsapp
    from werkbot.adapters.twilio.form import parse_form
    from werkbot.adapters.twilio.inbound import parse_message
    from werkbot.adapters.twilio.signature import SignatureChecker
    from werkbot.bot.storage.repos import inbox_values
    from werkbot.bot.untrusted import clean_event

    url = f"{PUBLIC_URL}/webhooks/whatsapp"
    validator, checker = RequestValidator(TOKEN), SignatureChecker(TOKEN)
    # First contacts: a pass of numbers never seen before for every pass over `parse`.
    requests = []
    for i in range(n * PASSES if first else n):
        person = i if first else i % 4000
        form = whatsapp(FIRST_CONTACT if first else "hilfe", sender=f"+4915{person:09d}",
                        message_sid=f"SM{i:032x}")
        headers = {"X-Twilio-Signature": str(validator.compute_signature(url, form))}
        requests.append((urlencode(form).encode(), headers))
    now = datetime.now(UTC)

    def verify(request: tuple[bytes, dict[str, str]]) -> Any:
        form = parse_form(request[0])
        if not checker.valid(url, form, request[1]):
            raise RuntimeError("signature refused")
        return form

    def parse(form: Any) -> Any:
        return parse_message("whatsapp", form, now=now)

    verify_us, _ = _best(verify, requests[:n])
    forms = [verify(request) for request in requests]
    if first:
        passes = [_best(parse, forms[k * n:(k + 1) * n], passes=1) for k in range(PASSES)]
        parse_us, events = min(passes, key=lambda one: one[0])
    else:
        _best(parse, forms)  # the numbers are known, as they are in a running bot
        parse_us, events = _best(parse, forms)
    store_us, _ = _best(lambda event: inbox_values(clean_event(event), now), events)
    return {"verify_us": verify_us, "parse_us": parse_us, "store_us": store_us,
            "total_us": verify_us + parse_us + store_us}


def _telegram(n: int) -> dict[str, float]:
    from werkbot.adapters.telegram.parse import parse_update
    from werkbot.bot.storage.repos import inbox_values
    from werkbot.bot.untrusted import clean_event, loads_json

    bodies = []
    for i in range(n):
        chat = 100_000_000 + i % 4000
        bodies.append(json.dumps({"update_id": i, "message": {
            "message_id": 1000 + i, "date": 1_765_000_000, "text": "hilfe",
            "from": {"id": chat, "is_bot": False, "first_name": "Erika",
                     "last_name": "Müller", "language_code": "de"},
            "chat": {"id": chat, "type": "private", "first_name": "Erika",
                     "last_name": "Müller"}}}).encode())
    now = datetime.now(UTC)
    verify_us, updates = _best(loads_json, bodies)
    _best(lambda update: parse_update(update, now), updates)
    parse_us, parsed = _best(lambda update: parse_update(update, now), updates)
    events = [event for one in parsed for event in one.events]
    store_us, _ = _best(lambda event: inbox_values(clean_event(event), now), events)
    return {"verify_us": verify_us, "parse_us": parse_us, "store_us": store_us,
            "total_us": verify_us + parse_us + store_us}


def child(mix: str, n: int) -> dict[str, float]:
    if mix == "telegram":
        return _telegram(n)
    return _twilio(n, first=mix == "whatsapp-first")


def measure(tree: Path, mix: str, n: int) -> dict[str, float]:
    from bench.bench_drain import child_result

    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mix, "-n", str(n)]
    return child_result(tree, cmd, timeout=600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="webhooks per pass")
    parser.add_argument("--against", default="", help="a git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default="", help="write the results here too")
    parser.add_argument("--child", default="", choices=("", *MIXES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.n)))
        return 0
    from bench.bench_drain import _worktree

    with ExitStack() as stack:
        trees = {"this tree": REPO}
        if args.against:
            trees[args.against] = _worktree(stack, args.against)
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            name: {mix: [] for mix in MIXES} for name in trees}
        for round_ in range(args.rounds):
            order = list(trees.items())
            for name, tree in order if round_ % 2 == 0 else reversed(order):
                for mix in MIXES:
                    runs[name][mix].append(measure(tree, mix, args.n))
                    print(f"round {round_ + 1} {name} {mix}: {_line(runs[name][mix][-1])}",
                          flush=True)
    medians = {name: {mix: {key: statistics.median(r[key] for r in results)
                            for key in results[0]}
                      for mix, results in by_mix.items()}
               for name, by_mix in runs.items()}
    print(f"\nmedians of {args.rounds} rounds, {args.n} webhooks per pass "
          "(CPU µs per webhook):")
    for name, by_mix in medians.items():
        for mix, values in by_mix.items():
            print(f"  {name:>12} {mix:>18}: {_line(values)}")
    if args.against:
        for mix in MIXES:
            now, then = medians["this tree"][mix], medians[args.against][mix]
            print(f"  {'ratio':>12} {mix:>18}: " + ", ".join(
                f"{key[:-3]} x{now[key] / then[key]:.2f}" for key in now))
    if args.json:
        Path(args.json).write_text(json.dumps({"n": args.n, "runs": runs,
                                               "medians": medians}, indent=2),
                                   encoding="utf-8")
    return 0


def _line(values: dict[str, float]) -> str:
    return (f"verify {values['verify_us']:.1f}, parse {values['parse_us']:.1f}, "
            f"clean and row {values['store_us']:.1f}, total {values['total_us']:.1f} µs")


if __name__ == "__main__":
    if "--child" in sys.argv:  # the measured tree (the working directory) comes first
        sys.path.insert(0, str(Path.cwd()))
    raise SystemExit(main())
