"""The privacy invariants of the gate, each attacked with audio that tries to break it.

1. With no detection, no audio sample reaches any sink, file or log.
2. A clip holds at most the configured pre-roll before the detection and at most the maximum length.
3. Nothing else is written to disk while listening.
"""

import logging

import numpy as np
import pytest

from audit import record_writes
from conftest import device_files
from firmware_py.detector import Detector
from firmware_py.gate import Gate, GateSettings
from firmware_py.model import StreamingModel
from firmware_py.pipeline import Pipeline
from firmware_py.sealing import OwnerPublicKey
from firmware_py.spool import Spool
from synthetic_model import burst, noise

RATE = 16000
BLOCK = 1280


def make_pipeline(model_path, data_dir, settings=GateSettings(), clips=None):
    detector = Detector([StreamingModel(model_path)])
    gate = Gate(settings, RATE, detector.latency_samples)
    spool = Spool(data_dir, OwnerPublicKey.load(data_dir / "owner.pub"))
    clips = clips if clips is not None else []

    def sink(clip):
        clips.append(clip)
        spool.store(clip)

    return Pipeline(detector, gate, on_clip=sink), clips


def varied_background(seconds, seed):
    """Non-wake audio with structure: quiet floor, louder passages, silence, clicks and ramps."""
    rng = np.random.default_rng(seed)
    parts, total = [], 0
    while total < seconds * RATE:
        kind = rng.integers(4)
        length = int(rng.uniform(0.2, 5.0) * RATE)
        if kind == 0:
            part = noise(length / RATE, dbfs=float(rng.uniform(-70, -45)), seed=int(rng.integers(1 << 30)))
        elif kind == 1:
            part = np.zeros(length, np.int16)
        elif kind == 2:  # a loud click: one frame only, which the model must not take for a wake word
            part = np.zeros(length, np.int16)
            part[: RATE // 200] = noise(0.005, dbfs=-10, seed=int(rng.integers(1 << 30)))
        else:
            part = (noise(length / RATE, dbfs=-42, seed=int(rng.integers(1 << 30))) * np.linspace(0, 1, length)).astype(np.int16)
        parts.append(part)
        total += length
    return np.concatenate(parts)[: int(seconds * RATE)]


def test_an_hour_without_the_wake_word_leaves_nothing_anywhere(loud_model, data_dir, caplog):
    caplog.set_level(logging.DEBUG)
    pipeline, clips = make_pipeline(loud_model, data_dir)
    audio = varied_background(600.0, seed=1)
    with record_writes() as writes:
        for _ in range(6):  # one hour, ten different minutes of background each time round
            for i in range(0, len(audio), BLOCK):
                pipeline.feed(audio[i : i + BLOCK])
        pipeline.finish()
    assert pipeline.stats.detections == 0 and clips == []
    assert writes == []  # no file opened for writing, no directory made, no socket used
    assert device_files(data_dir) == []
    assert pipeline.gate.ring.holds_only_zeros()
    assert caplog.records == []
    assert pipeline.gate.samples_discarded == 6 * len(audio)


def test_only_the_spool_is_written_and_only_after_a_detection(loud_model, data_dir):
    pipeline, clips = make_pipeline(loud_model, data_dir)
    audio = np.concatenate([varied_background(30.0, seed=2), burst(0.3), noise(1.0, -30, seed=7), noise(3.0, -70)])
    with record_writes() as writes:
        for i in range(0, len(audio), BLOCK):
            if i + BLOCK <= 30 * RATE:
                assert not writes, "something was written before the wake word"
            pipeline.feed(audio[i : i + BLOCK])
        pipeline.finish()
    assert len(clips) == 1
    written = {path for event, path in writes if event == "open"}
    assert written and all(path.startswith(str(data_dir / "spool")) or path == str(data_dir / "audit.log") for path in written)


@pytest.mark.parametrize("preroll_s, max_clip_s", [(1.5, 8.0), (0.5, 2.0), (0.0, 1.0), (3.0, 4.0)])
def test_clips_hold_at_most_the_preroll_and_the_maximum_length(loud_model, data_dir, preroll_s, max_clip_s):
    settings = GateSettings(preroll_s=preroll_s, max_clip_s=max_clip_s)
    pipeline, clips = make_pipeline(loud_model, data_dir, settings)
    # Loud audio everywhere: bursts before, the wake burst, and a command that never stops.
    audio = np.concatenate([noise(10.0, -15, seed=5)] * 3)
    for i in range(0, len(audio), BLOCK):
        pipeline.feed(audio[i : i + BLOCK])
    pipeline.finish()
    assert clips
    for clip in clips:
        assert clip.preroll_samples <= int(preroll_s * RATE)
        assert clip.detection.sample_index - clip.start_index <= int(preroll_s * RATE)
        assert len(clip.audio) <= int(max_clip_s * RATE)
        start = clip.start_index
        np.testing.assert_array_equal(clip.audio, audio[start : start + len(clip.audio)])


def test_audio_between_clips_never_leaves(loud_model, data_dir):
    """Mark every sample with its position; clips may only hold positions near their detection."""
    settings = GateSettings(preroll_s=1.0, max_clip_s=3.0)
    pipeline, clips = make_pipeline(loud_model, data_dir, settings)
    pieces = []
    for k in range(5):
        pieces += [noise(7.0, -60, seed=10 + k), burst(0.3, seed=20 + k), noise(0.7, -30, seed=30 + k), noise(4.0, -65, seed=40 + k)]
    audio = np.concatenate(pieces)
    for i in range(0, len(audio), BLOCK):
        pipeline.feed(audio[i : i + BLOCK])
    pipeline.finish()
    assert len(clips) == 5
    kept = np.zeros(len(audio), bool)
    for clip in clips:
        kept[clip.start_index : clip.start_index + len(clip.audio)] = True
        assert clip.start_index >= clip.detection.sample_index - RATE
    assert kept.sum() <= 5 * 3 * RATE


def test_onnxruntime_telemetry_never_starts(tmp_path, data_dir):
    """onnxruntime 1.32 creates a device id and an event cache (and starts an uploader) with its first
    session unless told not to; the real CLI with the shipped model leaves nothing under $HOME or
    $XDG_CACHE_HOME, even when the environment asks for telemetry."""
    import os
    import subprocess
    import sys

    import soundfile

    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    audio = tmp_path / "in.wav"
    soundfile.write(audio, noise(3.0, -40), 16000)
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(cache), "ORT_DISABLE_TELEMETRY": "0"}
    result = subprocess.run([sys.executable, "-m", "firmware_py", "detect", str(audio)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert list(home.rglob("*")) == [] and list(cache.rglob("*")) == []
