"""Property-based tests: corrupted or truncated audio files and arbitrary raw PCM end in blocks or a
one-line AudioError, never another exception."""

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzzlib  # noqa: E402
from firmware_py.audio_in import file_blocks, raw_blocks  # noqa: E402
from firmware_py.errors import AudioError  # noqa: E402

FUZZ = settings(max_examples=60, deadline=3000)
_DIR = Path(tempfile.mkdtemp(prefix="wakegate-test-fuzz-audio-"))


def encoded(fmt: str, subtype: str, rate: int = 16000, channels: int = 1) -> bytes:
    rng = np.random.default_rng(3)
    samples = (rng.normal(0, 3000, (1600, channels))).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


VALID = {
    "wav": encoded("WAV", "PCM_16"),
    "wav_float_stereo": encoded("WAV", "FLOAT", 44100, 2),
    "flac": encoded("FLAC", "PCM_16", 48000),
    "ogg": encoded("OGG", "VORBIS", 22050),
}


def read_file(data: bytes, suffix: str) -> None:
    path = _DIR / f"input.{suffix}"
    path.write_bytes(data)

    def all_blocks():
        count = 0
        for block in file_blocks(path, 640):
            assert block.dtype == np.int16 and block.ndim == 1 and 0 < len(block) <= 640
            count += 1
            assert count < 5000
        return count

    fuzzlib.expect_clean(all_blocks, errors=AudioError)


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(VALID)))
    data = bytearray(VALID[name])
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, min(len(data) - 1, 200) if draw(st.booleans()) else len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return name, bytes(data)


@FUZZ
@given(mutated())
def test_mutated_and_truncated_real_files(case):
    name, data = case
    read_file(data, name.split("_")[0])


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["wav", "flac", "ogg"]))
def test_arbitrary_bytes(data, suffix):
    read_file(data, suffix)


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from([16000, 8000, 44100, 4000, 384000, 3999, 0, -1]),
       st.integers(-1, 8), st.sampled_from([640, 320, 7, 1]), st.integers(1, 700))
def test_raw_pcm(data, rate, channels, block, step):
    class Pipe(io.RawIOBase):  # hands out fewer bytes than asked, like a pipe
        pos = 0

        def readable(self):
            return True

        def read(self, n=-1):
            chunk = data[self.pos : self.pos + min(step, n if n and n > 0 else step)]
            self.pos += len(chunk)
            return chunk

    def all_blocks():
        total = 0
        for out in raw_blocks(Pipe(), block, rate, channels):
            assert out.dtype == np.int16 and 0 < len(out) <= block
            total += len(out)
        return total

    fuzzlib.expect_clean(all_blocks, errors=AudioError)


def test_regression_absurd_channel_count(tmp_path):
    """A WAV header claiming 1024 channels (libsndfile's maximum) made each read allocate ~150 MB."""
    data = (Path(__file__).parent / "fuzz" / "regressions" / "audio_file" / "1024_channels.wav").read_bytes()
    path = tmp_path / "x.wav"
    path.write_bytes(data)
    with pytest.raises(AudioError, match="at most 64"):
        list(file_blocks(path, 640))


def test_regression_float_nan_and_inf_samples(tmp_path):
    """A float WAV holding NaN, ±inf and huge values: numpy warned (invalid cast) and NaN turned into
    arbitrary int16 values; now NaN is silence and ±inf full scale, without a warning."""
    import warnings

    path = tmp_path / "x.wav"
    path.write_bytes((Path(__file__).parent / "fuzz" / "regressions" / "audio_file" / "float_nan_inf.wav").read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        blocks = list(file_blocks(path, 640))
    audio = np.concatenate(blocks)
    assert len(audio) > 0 and audio.min() >= -32768 and audio.max() <= 32767
