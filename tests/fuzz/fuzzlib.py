"""What every fuzz target shares: the rule an outcome must follow, and the atheris entry point.

The rule (issue 7, "bad input, fuzzed"): a parser given outside bytes returns a result or raises a
``WakegateError`` (or the narrower class the caller expects) whose message is one non-empty line.
Any other exception is a bug and propagates, so atheris reports it as a crash and hypothesis as a
failing example. Hangs are caught by atheris's ``-timeout`` and by the hypothesis deadlines;
memory by atheris's ``-rss_limit_mb``.

Each ``tests/fuzz/fuzz_<target>.py`` defines ``one_input(data: bytes)`` and ends with
``fuzzlib.main(one_input)``, so it runs as ``python tests/fuzz/fuzz_<target>.py -max_total_time=30``;
the pytest suite imports the same ``one_input`` to replay the seed corpus and the regressions.
"""

from __future__ import annotations

import sys
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
TESTS_DIR = FUZZ_DIR.parent
REPO = TESTS_DIR.parent
for _path in (REPO, TESTS_DIR, FUZZ_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from firmware_py.errors import WakegateError  # noqa: E402


def assert_one_line(exc: BaseException) -> None:
    message = str(exc)
    assert message.strip(), f"{type(exc).__name__} with an empty message"
    assert len(message.splitlines()) == 1, f"{type(exc).__name__} message is not one line: {message!r}"


def expect_clean(function, *args, errors: type[BaseException] | tuple = WakegateError, **kwargs):
    """``function(*args)``'s result, or None if it raised one of ``errors`` with a one-line message."""
    try:
        return function(*args, **kwargs)
    except errors as exc:
        assert_one_line(exc)
        return None


class Reader:
    """Draws values from fuzz bytes (a tiny stand-in for atheris.FuzzedDataProvider that also runs
    without atheris, so the corpus replays in plain pytest)."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def choice(self, options):
        return options[self.byte() % len(options)]

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def rest(self) -> bytes:
        return self.take(len(self.data))


def main(one_input, setup=None) -> None:
    import atheris

    if setup is not None:
        setup()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


def instrumented(module_name: str):
    """``with instrumented(__name__): import ...``: coverage-guided imports when run as a fuzzer, plain
    imports when pytest imports the target to replay its corpus (or when atheris is missing)."""
    import contextlib

    if module_name != "__main__":
        return contextlib.nullcontext()
    try:
        import atheris
    except ImportError:
        return contextlib.nullcontext()
    return atheris.instrument_imports(include=["firmware_py"])


def read_input(path: Path) -> bytes:
    """A corpus or regression file; ``.gz`` ones (large but repetitive inputs) are stored compressed."""
    import gzip

    data = Path(path).read_bytes()
    return gzip.decompress(data) if str(path).endswith(".gz") else data


def read_request_head(conn) -> bool:
    """Read an HTTP request up to the blank line after its headers; False if the client hung up first."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        received += chunk
    return True
