"""The gate state machine, driven with synthetic audio and hand-made detections (no model, no I/O)."""

import numpy as np
import pytest

from firmware_py.detector import Detection
from firmware_py.errors import ConfigError
from firmware_py.gate import Gate, GateSettings, GateState
from synthetic_model import noise

RATE = 16000
BLOCK = 640


def detection_at(sample: int) -> Detection:
    return Detection("alexa", sample, sample / RATE, 0.9, "v1")


def run(gate, audio, detect_at=(), block=BLOCK):
    """Feed audio block by block; hand the gate a detection in the block that contains each index."""
    clips = []
    offset = gate.ring.written  # detection indices are relative to this call's audio
    for start in range(0, len(audio), block):
        chunk = audio[start : start + block]
        found = [detection_at(offset + i) for i in detect_at if start < i <= start + len(chunk)]
        released = gate.process(chunk, found)
        for clip in released:  # at hand-off, nothing of the clip (or before it) stays in the ring
            ring = gate.ring
            assert ring.oldest >= clip.start_index + len(clip.audio)
            assert np.count_nonzero(ring._data) <= 2 * (ring.written - ring.oldest)
        clips += released
    return clips


def speech(seconds, dbfs=-20.0, seed=3):
    return noise(seconds, dbfs=dbfs, seed=seed)


def quiet(seconds):
    return noise(seconds, dbfs=-60.0, seed=4)


def test_listening_keeps_only_the_preroll_and_zeroes_the_rest():
    gate = Gate(GateSettings(preroll_s=1.0), RATE)
    assert run(gate, speech(20.0)) == []
    held = gate.ring.written - gate.ring.oldest
    assert held <= RATE * 1.0
    assert np.count_nonzero(gate.ring._data) <= 2 * held  # every sample is stored twice
    assert gate.samples_discarded == 20 * RATE - held


def test_clip_is_preroll_plus_command_cut_at_the_silence():
    gate = Gate(GateSettings(preroll_s=1.5, end_silence_s=0.8, tail_s=0.3), RATE)
    audio = np.concatenate([quiet(3.0), speech(0.6), quiet(0.5), speech(2.0, seed=5), quiet(3.0)])
    detected = int(3.6 * RATE)
    (clip,) = run(gate, audio, [detected])
    assert clip.end_reason == "silence"
    assert clip.start_index == detected - int(1.5 * RATE)
    assert clip.preroll_samples == int(1.5 * RATE)
    np.testing.assert_array_equal(clip.audio, audio[clip.start_index : clip.start_index + len(clip.audio)])
    # The command ended at 6.1 s; the clip ends at its last speech frame plus the 0.3 s tail.
    assert abs(clip.start_index + len(clip.audio) - int(6.4 * RATE)) <= RATE // 100
    assert gate.state is GateState.LISTENING


def test_clip_never_exceeds_the_maximum_length():
    gate = Gate(GateSettings(preroll_s=1.5, max_clip_s=4.0), RATE)
    audio = speech(12.0)
    (clip,) = run(gate, audio, [3 * RATE])
    assert clip.end_reason == "max_length"
    assert len(clip.audio) == 4 * RATE
    assert clip.preroll_samples == int(1.5 * RATE)


def test_no_command_ends_the_clip_soon_after_the_wake_word():
    gate = Gate(GateSettings(no_command_s=2.0, tail_s=0.3), RATE)
    audio = np.concatenate([quiet(2.0), speech(0.5), quiet(6.0)])
    (clip,) = run(gate, audio, [int(2.5 * RATE)])
    assert clip.end_reason == "no_command"
    assert clip.duration_s <= 1.5 + 0.3 + 0.05


def test_preroll_never_reaches_before_what_was_heard():
    gate = Gate(GateSettings(preroll_s=1.5), RATE)
    audio = np.concatenate([speech(0.5), quiet(4.0)])
    (clip,) = run(gate, audio, [int(0.4 * RATE)])
    assert clip.start_index == 0 and clip.preroll_samples == int(0.4 * RATE)


def test_clip_audio_is_a_copy_not_a_view_of_the_ring():
    gate = Gate(GateSettings(max_clip_s=2.0), RATE)
    (clip,) = run(gate, speech(5.0), [RATE])
    assert not np.shares_memory(clip.audio, gate.ring._data)
    assert clip.audio.any()


def test_detections_while_capturing_do_not_start_a_second_clip():
    gate = Gate(GateSettings(max_clip_s=3.0), RATE)
    clips = run(gate, speech(6.0), [RATE, int(1.5 * RATE), 2 * RATE])
    assert len(clips) == 1


def test_mute_drops_a_capture_in_progress_and_everything_held():
    gate = Gate(GateSettings(), RATE)
    run(gate, speech(2.0), [RATE])
    assert gate.state is GateState.CAPTURING
    gate.mute()
    assert gate.ring.holds_only_zeros()
    assert run(gate, speech(3.0), [RATE]) == []  # muted: audio is not even written
    assert gate.ring.holds_only_zeros()
    gate.unmute()
    assert len(run(gate, speech(3.0), [RATE]) + gate.finish()) == 1


def test_finish_hands_off_the_capture_in_progress_and_zeroes():
    gate = Gate(GateSettings(), RATE)
    run(gate, speech(2.0), [RATE])
    (clip,) = gate.finish()
    assert clip.end_reason == "end_of_stream"
    assert gate.ring.holds_only_zeros()


def test_finish_while_listening_zeroes_the_preroll():
    gate = Gate(GateSettings(), RATE)
    run(gate, speech(2.0))
    assert gate.finish() == []
    assert gate.ring.holds_only_zeros()


@pytest.mark.parametrize(
    "kwargs", [{"preroll_s": -1}, {"max_clip_s": 0.1}, {"preroll_s": 5, "max_clip_s": 4}, {"tail_s": -0.1}]
)
def test_bad_gate_settings(kwargs):
    with pytest.raises(ConfigError):
        GateSettings(**kwargs)
