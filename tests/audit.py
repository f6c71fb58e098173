"""Records every attempt to write to disk or open a socket, through Python's audit hooks (PEP 578).

A hook cannot be removed once added, so one hook is installed per process and switched on only
inside ``record_writes()``.
"""

from __future__ import annotations

import contextlib
import os
import sys

_recording: list[tuple[str, str]] | None = None
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_ALWAYS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.chmod", "os.truncate", "socket.connect", "socket.sendto", "socket.bind"}


def _hook(event: str, args) -> None:
    if _recording is None:
        return
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):  # os.fdopen of a descriptor whose os.open was recorded already
            return
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & _WRITE_FLAGS)
        if writes:
            _recording.append((event, str(path)))
    elif event in _ALWAYS:
        _recording.append((event, str(args[0]) if args else ""))


sys.addaudithook(_hook)


@contextlib.contextmanager
def record_writes():
    global _recording
    _recording = []
    try:
        yield _recording
    finally:
        _recording = None
