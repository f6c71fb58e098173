"""Fuzz target: ``firmware_py.audio_in.file_blocks`` on arbitrary (mostly mutated WAV/FLAC/Ogg) file bytes."""

import os
import tempfile

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.audio_in import file_blocks
    from firmware_py.errors import AudioError

_DIR = tempfile.mkdtemp(prefix="wakegate-fuzz-audio-")
MAX_BLOCKS = 2000  # 80 s of audio at 640-sample blocks: enough to read any small file to its end


def _read_all(path: str) -> int:
    blocks = 0
    for block in file_blocks(path, 640):
        assert block.dtype.name == "int16" and block.ndim == 1 and 0 < len(block) <= 640
        blocks += 1
        if blocks >= MAX_BLOCKS:
            break
    return blocks


def one_input(data: bytes) -> None:
    # The suffix does not decide the format (libsndfile reads the header) but try each anyway.
    suffix = (".wav", ".flac", ".ogg")[data[0] % 3] if data else ".wav"
    path = os.path.join(_DIR, "input" + suffix)
    with open(path, "wb") as handle:
        handle.write(data)
    fuzzlib.expect_clean(_read_all, path, errors=AudioError)


if __name__ == "__main__":
    fuzzlib.main(one_input)
