"""Fuzz target: ``firmware_py.audit.AuditLog.verify`` (and ``append`` after it) on arbitrary log contents."""

import tempfile
from pathlib import Path

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.audit import AuditLog

_PATH = Path(tempfile.mkdtemp(prefix="wakegate-fuzz-audit-")) / "audit.log"


def one_input(data: bytes) -> None:
    _PATH.write_bytes(data)
    log = AuditLog(_PATH, clock=lambda: 0)
    result = log.verify()
    assert isinstance(result.ok, bool) and isinstance(result.entries, int)
    if result.problem is not None:
        assert len(result.problem.splitlines()) == 1, result.problem
    # Appending to whatever is there never fails, and the new entry is readable.
    entry = log.append("deleted", "fuzz")
    assert isinstance(entry["seq"], int) and len(entry["hash"]) == 64


if __name__ == "__main__":
    fuzzlib.main(one_input)
