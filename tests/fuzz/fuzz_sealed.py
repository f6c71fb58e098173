"""Fuzz target: ``firmware_py.sealing.read_header`` / ``open_sealed`` on arbitrary sealed-clip bytes."""

import tempfile
from pathlib import Path

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.sealing import SealedClipError, generate_keys, load_private_key, open_sealed, read_header

_DIR = Path(tempfile.mkdtemp(prefix="wakegate-fuzz-sealed-"))
generate_keys(_DIR / "owner.key", _DIR / "owner.pub")
PRIVATE_KEY = load_private_key(_DIR / "owner.key")


def one_input(data: bytes) -> None:
    result = fuzzlib.expect_clean(read_header, data, errors=SealedClipError)
    if result is not None:
        metadata, header, ciphertext = result
        assert isinstance(metadata, dict) and header.endswith(b"\n")
    fuzzlib.expect_clean(open_sealed, data, PRIVATE_KEY, errors=SealedClipError)


if __name__ == "__main__":
    fuzzlib.main(one_input)
