"""Fuzz target: ``firmware_py.fixtures.load_fixtures`` on an arbitrary labels.csv or labels.jsonl."""

import shutil
import tempfile
from pathlib import Path

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.fixtures import FixtureError, load_fixtures

_ROOT = Path(tempfile.mkdtemp(prefix="wakegate-fuzz-fixtures-"))


def one_input(data: bytes) -> None:
    folder = _ROOT / "pack"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "sub").mkdir(parents=True)
    # A few audio files for the labels to name (contents do not matter: load_fixtures reads only labels).
    for name in ("a.wav", "sub/b.flac"):
        (folder / name).write_bytes(b"RIFF")
    labels = "labels.jsonl" if data[:1] == b"{" or (data and data[0] % 2) else "labels.csv"
    (folder / labels).write_bytes(data)
    fuzzlib.expect_clean(load_fixtures, folder, errors=FixtureError)


if __name__ == "__main__":
    fuzzlib.main(one_input)
