"""Fuzz target: ``firmware_py.audio_in.raw_blocks`` on arbitrary bytes, rates and channel counts."""

import io

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.audio_in import raw_blocks
    from firmware_py.errors import AudioError

RATES = (16000, 8000, 44100, 48000, 3999, 384001, 0, -16000, 22050, 384000, 4000)
BLOCKS = (640, 160, 1, 320)


class Trickle(io.RawIOBase):
    """A stream that returns fewer bytes than asked, as a pipe does."""

    def __init__(self, data: bytes, step: int):
        self._data, self._pos, self._step = data, 0, max(1, step)

    def readable(self):
        return True

    def read(self, n=-1):
        n = self._step if n is None or n < 0 else min(n, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk


def _read_all(stream, block, rate, channels) -> int:
    total = 0
    for out in raw_blocks(stream, block, rate, channels):
        assert out.dtype.name == "int16" and 0 < len(out) <= block
        total += len(out)
    return total


def one_input(data: bytes) -> None:
    r = fuzzlib.Reader(data)
    rate, block = r.choice(RATES), r.choice(BLOCKS)
    channels = r.byte() % 10 - 1  # -1 .. 8
    step = r.byte() * 7 + 1
    stream = Trickle(r.rest(), step)
    fuzzlib.expect_clean(_read_all, stream, block, rate, channels, errors=AudioError)


if __name__ == "__main__":
    fuzzlib.main(one_input)
