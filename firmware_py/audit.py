"""The audit log: every clip event, append-only, each entry chained to the one before by hash.

One JSON object per line: ``seq``, ``time`` (to the second), ``event`` (captured, delivered, deleted,
dropped, purged, ...), ``clip_id`` and details, never audio; ``prev`` is the hash of the previous entry
and ``hash`` the SHA-256 of this entry without its ``hash``. Editing, inserting, reordering or
deleting an entry breaks the chain, which ``verify`` finds. Cutting entries off the end leaves a
valid shorter chain: compare ``head()`` with a copy kept elsewhere to catch that.
Several processes may append (the gate, the owner's ``clips delete``): an exclusive lock on the file
serialises them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

GENESIS = "0" * 64
EVENTS = {"captured", "delivered", "delivery_failed", "deleted", "dropped", "purged", "exported"}


def _digest(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head: str
    problem: str | None = None


class AuditLog:
    def __init__(self, path: Path, clock=time.time):
        self.path = Path(path)
        self._clock = clock

    def append(self, event: str, clip_id: str | None = None, **details) -> dict:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            seq, prev = self._last(fd)
            entry = {
                "seq": seq + 1,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(round(self._clock()))),
                "event": event,
                "clip_id": clip_id,
                **details,
                "prev": prev,
            }
            entry["hash"] = _digest(entry)
            os.write(fd, json.dumps(entry, sort_keys=True).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
        return entry

    @staticmethod
    def _last(fd: int) -> tuple[int, str]:
        """seq and hash of the last entry. A torn last line (a crash mid-write) never became an
        entry, so it is cut off here, under the lock, before anything is appended after it."""
        size = os.lseek(fd, 0, os.SEEK_END)
        chunk = min(size, 65536)
        os.lseek(fd, size - chunk, os.SEEK_SET)
        tail = os.read(fd, chunk)
        complete = tail.rfind(b"\n") + 1  # bytes of the tail that end in a newline
        if complete < len(tail):
            os.ftruncate(fd, size - (len(tail) - complete))
        for line in reversed(tail[:complete].split(b"\n")):
            try:
                entry = json.loads(line)
                return int(entry["seq"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
                continue  # OverflowError: seq = Infinity; RecursionError: JSON nested too deeply
        return 0, GENESIS

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        result = []
        for line in self.path.read_bytes().splitlines():
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply
                entry = None
            # Only a JSON object is an entry; anything else (a list, a number, null) is unreadable.
            result.append(entry if isinstance(entry, dict) else {"unreadable": line[:80].decode("utf-8", "replace")})
        return result

    def verify(self) -> VerifyResult:
        prev, count = GENESIS, 0
        for number, entry in enumerate(self.entries(), start=1):
            if "unreadable" in entry:
                return VerifyResult(False, count, prev, f"line {number} is not a JSON entry")
            if entry.get("prev") != prev:
                return VerifyResult(False, count, prev, f"line {number} (seq {entry.get('seq')!r}) does not follow the entry before it: an entry was removed, inserted or reordered")
            if entry.get("seq") != count + 1:
                return VerifyResult(False, count, prev, f"line {number} has seq {entry.get('seq')!r}, expected {count + 1}")
            if entry.get("hash") != _digest(entry):
                return VerifyResult(False, count, prev, f"line {number} (seq {entry.get('seq')!r}) was edited: its hash does not match")
            prev, count = entry["hash"], count + 1
        return VerifyResult(True, count, prev)
