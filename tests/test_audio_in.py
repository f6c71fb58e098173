import io

import numpy as np
import pytest
import soundfile as sf

from firmware_py.audio_in import Converter, file_blocks, raw_blocks
from firmware_py.errors import AudioError

RATE = 16000


def sweep(seconds=1.0, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * (200 + 1500 * t) * t)).astype(np.float32)


def collect(blocks):
    blocks = list(blocks)
    assert all(b.dtype == np.int16 and b.ndim == 1 for b in blocks)
    assert all(len(b) == 640 for b in blocks[:-1])
    return np.concatenate(blocks)


@pytest.mark.parametrize(
    "fmt, subtype, rate, channels",
    [
        ("WAV", "PCM_16", 16000, 1),
        ("WAV", "PCM_24", 48000, 2),
        ("WAV", "FLOAT", 44100, 1),
        ("WAV", "PCM_U8", 8000, 1),
        ("FLAC", "PCM_16", 22050, 2),
        ("OGG", "VORBIS", 32000, 1),
    ],
)
def test_any_common_file_becomes_16k_mono_int16(tmp_path, fmt, subtype, rate, channels):
    signal = sweep(1.0, rate)
    data = np.stack([signal] * channels, axis=1) if channels > 1 else signal
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, data, rate, format=fmt, subtype=subtype)
    audio = collect(file_blocks(path, 640))
    assert abs(len(audio) - RATE) <= 2
    reference = collect(file_blocks_of(sweep(1.0, RATE)))
    if fmt == "WAV" and subtype == "PCM_16":
        np.testing.assert_allclose(audio, reference, atol=1)  # 16-bit in, 16-bit out: no resampling
    else:  # resampled or requantised: the same signal within a small error
        error = np.abs(audio[200:-200].astype(float) - reference[200 : len(audio) - 200]).mean()
        assert error < (400 if subtype in ("PCM_U8", "VORBIS") else 60)


def file_blocks_of(signal):
    return Converter(RATE, 1, None, 640).push(np.round(signal * 32767).astype(np.int16), last=True)


def test_channel_selection_picks_one_channel(tmp_path):
    left, right = sweep(0.5), np.zeros(RATE // 2, np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    assert collect(file_blocks(path, 640, channel=1)).max() == 0
    assert collect(file_blocks(path, 640, channel=0)).max() > 10000


def test_raw_pcm_stream_with_odd_reads():
    samples = (sweep(0.7) * 32767).astype("<i2")
    audio = collect(raw_blocks(io.BytesIO(samples.tobytes() + b"\x01"), 640))  # a stray odd byte is dropped
    np.testing.assert_array_equal(audio, samples)


def test_resampling_converter_streams_like_one_call():
    signal = sweep(1.0, 48000)
    whole = np.concatenate(list(Converter(48000, 1, None, 160).push(signal, last=True)))
    converter = Converter(48000, 1, None, 160)
    pieces = [b for i in range(0, len(signal), 480) for b in converter.push(signal[i : i + 480])]
    pieces += list(converter.push(signal[:0], last=True))
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "not found"),
        (lambda p: p.write_bytes(b""), "not a readable audio file"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk"), "not a readable audio file"),
        (lambda p: p.write_text("hello, I am text"), "not a readable audio file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: sf.write(p, np.zeros(0), RATE, format="WAV"), "holds no audio"),
    ],
)
def test_bad_files_are_audio_errors(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=message):
        list(file_blocks(path, 640))


def test_truncated_flac_is_an_audio_error_or_ends_early(tmp_path):
    path = tmp_path / "t.flac"
    sf.write(path, sweep(3.0), RATE, format="FLAC")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    try:
        audio = collect(file_blocks(path, 640))
    except AudioError as exc:
        assert "corrupt or truncated" in str(exc)
    else:
        assert len(audio) < 3 * RATE


def test_bad_channel_is_refused(tmp_path):
    path = tmp_path / "m.wav"
    sf.write(path, sweep(0.1), RATE)
    with pytest.raises(AudioError, match="channel 3 does not exist"):
        list(file_blocks(path, 640, channel=3))
