"""The privacy indicator: on whenever audio is being captured for a clip or sent anywhere.

Anything that captures or sends audio takes a hold for as long as it does; the indicator is on while
any hold is open. Outputs: a log line and a state file (``on``/``off``) by default, an LED on a board.
A hold that is never released keeps the light on: it errs on the side of telling the user.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("wakegate")


class Indicator:
    def __init__(self, state_file: Path | None = None, outputs: list[Callable[[bool], None]] | None = None):
        self._lock = threading.Lock()
        # Outputs change one at a time, each to the state of the holds at that moment: a release and a
        # hold racing on two threads must never leave the light off while a clip is being sent.
        self._output_lock = threading.Lock()
        self._shown = False
        self._holds: dict[int, str] = {}
        self._next = 0
        self._state_file = state_file
        self._outputs = list(outputs or [])
        self.changes = 0

    def add_output(self, output: Callable[[bool], None]) -> None:
        """An output attached after start-up (a board's LED); it is told changes from now on."""
        self._outputs.append(output)

    @property
    def is_on(self) -> bool:
        with self._lock:
            return bool(self._holds)

    def hold(self, reason: str) -> int:
        with self._lock:
            self._next += 1
            token = self._next
            self._holds[token] = reason
        self._update(reason)
        return token

    def release(self, token: int) -> None:
        with self._lock:
            reason = self._holds.pop(token, None)
        if reason is not None:
            self._update(reason)

    @contextmanager
    def held(self, reason: str):
        token = self.hold(reason)
        try:
            yield
        finally:
            self.release(token)

    def _update(self, reason: str) -> None:
        with self._output_lock:
            with self._lock:
                on = bool(self._holds)
                if on == self._shown:
                    return
                self._shown = on
            self._show(on, reason)

    def _show(self, on: bool, reason: str) -> None:
        self.changes += 1
        if on:
            log.warning("privacy indicator ON (%s)", reason)
        else:
            log.warning("privacy indicator off")
        if self._state_file is not None:
            try:
                self._state_file.write_text("on\n" if on else "off\n")
            except OSError as exc:
                log.error("cannot write indicator state file %s: %s", self._state_file, exc)
        for output in self._outputs:
            output(on)
