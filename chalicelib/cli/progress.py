"""A dependency-free progress bar for long CLI commands, on stderr and only
when stderr is a terminal (pipes, CI logs and tests see nothing)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")
WIDTH = 30


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO | None = None, force: bool = False):
        self.total = max(total, 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self.done = 0
        self.base = 0  # already done before this run (a resumed job): not counted in the rate
        self.started = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n) if self.total else self.done + n
        if self.enabled:
            self._draw()

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(share * WIDTH)
        elapsed = time.monotonic() - self.started
        rate = (self.done - self.base) / elapsed if elapsed > 0 else 0.0
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] "
                          f"{self.done}/{self.total} {elapsed:5.1f}s {rate:,.0f}/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def track(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    bar = Progress(total, label)
    try:
        for item in items:
            yield item
            bar.advance()
    finally:
        bar.close()
