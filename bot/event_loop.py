"""Which asyncio event loop `werkbot serve` and `werkbot demo` run on (`server.event_loop`).

"auto" takes uvloop when it is installed (it is a dependency on CPython for Linux and
macOS, as in uvicorn's standard install) and the standard loop otherwise; "uvloop" insists
on it (settings validation stops start-up with the key named when it is missing);
"asyncio" is the standard loop. The choice changes speed, not behaviour: the test suite
runs on the standard loop and `tests/e2e/test_event_loop.py` runs the server on both.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory for `asyncio.Runner`; None means the standard loop."""
    if choice == "asyncio" or not uvloop_installed():  # "uvloop" alone: refused by validate()
        return None
    import uvloop

    return uvloop.new_event_loop


def running_loop_name() -> str:
    """The loop this code runs on, as the start-up log names it."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T], choice: str) -> T:
    """`asyncio.run(main)` on the loop `choice` names."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)
