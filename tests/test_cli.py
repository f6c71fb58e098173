"""The ``wakegate`` program as users and evaluation tools run it: a real subprocess, real files."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import assert_no_plaintext, device_files, open_clips
from firmware_py.sealing import read_header
from synthetic_model import burst, noise

RATE = 16000
REPO = Path(__file__).resolve().parent.parent


def wakegate(*args, stdin=None, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "firmware_py", *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=dict(os.environ, **(env or {})),
    )


def one_line_error(result, fragment):
    """Bad input: non-zero exit, one line naming the problem, no traceback."""
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("wakegate: error: ") and fragment in lines[0], stderr


@pytest.fixture(scope="module")
def wake_audio():
    """Background, the stand-in wake word at 2.0 s, a command, quiet."""
    return np.concatenate([noise(2.0, -60, seed=1), burst(0.3), noise(1.0, -30, seed=2), noise(2.0, -65, seed=3)])


@pytest.fixture
def wake_wav(tmp_path, wake_audio):
    path = tmp_path / "wake.wav"
    sf.write(path, wake_audio, RATE, subtype="PCM_16")
    return path


def test_detect_prints_detections_as_json_lines(wake_wav, loud_model):
    result = wakegate("detect", wake_wav, "--model", loud_model)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(lines) == 1
    (event,) = lines
    assert event["event"] == "detection" and event["wake_word"] == "loud"
    assert 2.0 < event["time_s"] < 2.1 and 0.5 <= event["score"] <= 1.0
    assert set(event) == {"event", "wake_word", "time_s", "score"}


def test_detect_scores_one_line_per_frame(wake_wav, loud_model):
    result = wakegate("detect", wake_wav, "--model", loud_model, "--scores")
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    scores = [e for e in events if e["event"] == "score"]
    assert len(scores) >= 5.2 * 100 - 4  # a frame every 10 ms, bar the last partial model step
    assert [round(e["time_s"], 2) for e in scores[:3]] == [0.01, 0.02, 0.03]
    assert all(set(e["scores"]) == {"loud"} for e in scores)
    detection = next(e for e in events if e["event"] == "detection")
    assert any(e["time_s"] == detection["time_s"] and e["scores"]["loud"] >= 0.5 for e in scores)


def test_detect_threshold_flag_overrides_the_model_default(wake_wav, loud_model):
    result = wakegate("detect", wake_wav, "--model", loud_model, "--threshold", "1.0")
    assert result.returncode == 0 and result.stdout == b""


def test_detect_reads_raw_pcm_on_stdin(wake_audio, loud_model):
    result = wakegate("detect", "-", "--model", loud_model, stdin=wake_audio.astype("<i2").tobytes())
    assert result.returncode == 0
    assert json.loads(result.stdout)["event"] == "detection"


def test_run_replays_a_file_and_keeps_one_sealed_clip(wake_wav, wake_audio, loud_model, data_dir, owner_key):
    result = wakegate("run", "--input", wake_wav, "--model", loud_model, "--data-dir", data_dir)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "detected loud at 2.0" in out and "1 clip(s) kept" in out and "discarded" in out
    ((meta, audio),) = open_clips(data_dir, owner_key)
    assert set(meta) == {"id", "time", "wake_word", "score", "duration_s", "preroll_s", "sample_rate",
                         "model_version", "end_reason", "suite", "key_id"}
    assert meta["wake_word"] == "loud" and meta["end_reason"] == "silence" and meta["time"].endswith("Z")
    assert abs(len(audio) / RATE - meta["duration_s"]) < 0.01
    # The clip is an exact slice of what was heard, starting at most the pre-roll before the detection.
    found = np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(wake_audio, 32) == audio[:32], axis=1))
    assert len(found) == 1
    np.testing.assert_array_equal(audio, wake_audio[found[0] : found[0] + len(audio)])
    (path,) = (data_dir / "spool").glob("*.clip")
    assert (data_dir.stat().st_mode & 0o777) == 0o700 and ((data_dir / "spool").stat().st_mode & 0o777) == 0o700
    assert (path.stat().st_mode & 0o777) == 0o600
    # No plaintext audio on disk: no 64-sample run of the clip appears in any file under the data dir.
    assert_no_plaintext(data_dir, wake_audio)


def test_clip_metadata_carries_no_identity(wake_wav, loud_model, data_dir):
    wakegate("run", "--input", wake_wav, "--model", loud_model, "--data-dir", data_dir)
    (path,) = (data_dir / "spool").glob("*.clip")
    meta, header, _ = read_header(path.read_bytes())  # the part that is readable without the key
    import getpass
    import socket
    import uuid

    assert set(meta) == {"id", "time", "wake_word", "score", "duration_s", "preroll_s", "sample_rate",
                         "model_version", "end_reason", "suite", "key_id"}
    values = [str(v) for v in meta.values()]
    for identity in {socket.gethostname(), getpass.getuser(), f"{uuid.getnode():012x}"}:
        assert identity not in values


def test_run_with_no_wake_word_writes_nothing(tmp_path, loud_model, data_dir):
    path = tmp_path / "quiet.flac"
    sf.write(path, noise(30.0, -55), RATE)
    result = wakegate("run", "--input", path, "--model", loud_model, "--data-dir", data_dir)
    assert result.returncode == 0
    assert "0 detection(s), 0 clip(s)" in result.stdout.decode()
    assert device_files(data_dir) == []


def test_config_file_and_flags(tmp_path, wake_wav, loud_model, data_dir, owner_key):
    config = tmp_path / "wakegate.toml"
    config.write_text(f'[models]\nmodels = ["{loud_model}"]\n[gate]\npreroll_s = 0.5\n[spool]\ndir = "{data_dir}"\n')
    result = wakegate("run", "--input", wake_wav, "--config", config)
    assert result.returncode == 0, result.stderr
    ((meta, _),) = open_clips(data_dir, owner_key)
    assert meta["preroll_s"] <= 0.5


@pytest.mark.parametrize(
    "make_args, fragment",
    [
        (lambda t, m: ["detect", t / "missing.wav", "--model", m], "audio file not found"),
        (lambda t, m: ["detect", write(t / "empty.wav", b""), "--model", m], "not a readable audio file"),
        (lambda t, m: ["detect", write(t / "text.flac", b"hello"), "--model", m], "not a readable audio file"),
        (lambda t, m: ["detect", t, "--model", m], "is a directory"),
        (lambda t, m: ["detect", silent_wav(t), "--model", write(t / "x.onnx", b"garbage")], "not signed (no x.onnx.sig)"),
        (lambda t, m: ["detect", silent_wav(t), "--model", write(t / "x.onnx", b"garbage"), "--config",
                       write(t / "c.toml", b"[models]\nallow_unsigned = true\n")], "not a loadable ONNX model"),
        (lambda t, m: ["detect", silent_wav(t), "--model", "nosuchmodel"], "no model named 'nosuchmodel'"),
        (lambda t, m: ["run", "--input", silent_wav(t), "--model", m, "--config", t / "none.toml"], "config file not found"),
        (lambda t, m: ["run", "--input", silent_wav(t), "--model", m, "--config", write(t / "c.toml", b"[gate\n")], "not valid TOML"),
        (lambda t, m: ["run", "--input", silent_wav(t), "--model", m, "--config", write(t / "c.toml", b"[gate]\npreroll = 1\n")], "unknown setting gate.preroll"),
        (lambda t, m: ["run", "--input", silent_wav(t), "--model", m, "--config", write(t / "c.toml", b"[gate]\npreroll_s = 'x'\n")], "gate.preroll_s: expected float"),
        (lambda t, m: ["run", "--input", silent_wav(t), "--model", m, "--config", write(t / "c.toml", b"[mic]\n")], "unknown config section [mic]"),
        (lambda t, m: ["run", "--input", silent_wav(t), "--model", m, "--threshold", "7"], "threshold 7.0 must be in (0, 1]"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(tmp_path, loud_model, make_args, fragment):
    one_line_error(wakegate(*make_args(tmp_path, loud_model)), fragment)


def test_truncated_wav_keeps_what_was_heard(tmp_path, wake_audio, loud_model, data_dir):
    """A file cut off mid-way: the audio before the cut is still processed, the clip still stored."""
    path = tmp_path / "cut.wav"
    sf.write(path, wake_audio, RATE, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[: 44 + 2 * int(3.0 * RATE)])
    result = wakegate("run", "--input", path, "--model", loud_model, "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    assert len(list((data_dir / "spool").glob("*.clip"))) == 1


def write(path, content: bytes):
    path.write_bytes(content)
    return path


def silent_wav(directory):
    path = directory / "silence.wav"
    sf.write(path, np.zeros(RATE, np.int16), RATE)
    return path


def test_realtime_replay_is_paced(tmp_path, loud_model, data_dir):
    path = tmp_path / "short.wav"
    sf.write(path, noise(1.0, -60), RATE)
    import time

    started = time.monotonic()
    result = wakegate("run", "--input", path, "--realtime", "--model", loud_model, "--data-dir", data_dir)
    assert result.returncode == 0
    assert time.monotonic() - started >= 0.95


def test_duration_stops_a_replay_early(tmp_path, loud_model, data_dir):
    path = tmp_path / "long.wav"
    sf.write(path, noise(10.0, -60), RATE)
    result = wakegate("run", "--input", path, "--duration", "2.5", "--model", loud_model, "--data-dir", data_dir)
    assert "done: 2.5 s of audio" in result.stdout.decode()


def test_demo_on_the_bundled_fixture_keeps_the_command_and_nothing_else(tmp_path, owner_key):
    """The shipped alexa model on the shipped fixture: exactly one clip, holding the wake word and command."""
    data_dir = tmp_path / "demo-data"
    result = wakegate("demo", "--fixture", "--data-dir", data_dir)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "demo: made an owner key pair" in out and "1 detection(s), 1 clip(s) kept" in out
    ((meta, audio),) = open_clips(data_dir, owner_key)
    assert meta["wake_word"] == "alexa" and meta["end_reason"] == "silence"
    fixture, _ = sf.read(REPO / "firmware_py" / "data" / "demo.flac", dtype="int16")
    found = np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(fixture, 32) == audio[:32], axis=1))
    start = found[0] / RATE
    # "Alexa" starts at 7.19 s and the command ends at 9.2 s; the unrelated speech around it stays out.
    assert 5.8 < start < 7.19 and 9.2 < start + len(audio) / RATE < 9.8
    again = wakegate("demo", "--fixture", "--data-dir", data_dir)  # keys are made once
    assert again.returncode == 0 and "made an owner key pair" not in again.stdout.decode()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_both_shipped_models_run_side_by_side(tmp_path):
    """computer and alexa, signature-checked, in one detector: each answers to its own word only."""
    spoken = tmp_path / "computer.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(spoken), "Hey, okay. Computer."], check=True, capture_output=True)
    audio, rate = sf.read(spoken, dtype="float32")
    padded = tmp_path / "padded.wav"
    sf.write(padded, np.concatenate([np.zeros(rate), audio, np.zeros(rate)]), rate)
    for path, expected in ((padded, "computer"), (REPO / "firmware_py" / "data" / "demo.flac", "alexa")):
        result = wakegate("detect", "--model", "computer", "--model", "alexa", path)
        assert result.returncode == 0, result.stderr
        events = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert [e["wake_word"] for e in events if e["event"] == "detection"] == [expected]
