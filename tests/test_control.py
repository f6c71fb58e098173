"""Mute, status and the privacy indicator, in process and against a running `wakegate run`."""

import ctypes.util
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from firmware_py.detector import Detector
from firmware_py.gate import Gate, GateSettings
from firmware_py.indicator import Indicator
from firmware_py.model import StreamingModel
from firmware_py.pipeline import Pipeline, SinkWorker
from firmware_py.runtime import Controller, FileSource, Runtime, send_command
from synthetic_model import burst, noise

RATE = 16000
BLOCK = 640


def blocks_of(audio):
    return [audio[i : i + BLOCK] for i in range(0, len(audio), BLOCK)]


def build(loud_model, deliver):
    detector = Detector([StreamingModel(loud_model)])
    gate = Gate(GateSettings(), RATE, detector.latency_samples)
    indicator = Indicator()
    worker = SinkWorker(deliver, indicator=indicator)
    pipeline = Pipeline(detector, gate, on_clip=worker.submit)
    return Runtime(pipeline, Controller(), indicator), worker


def test_indicator_is_on_for_every_clip_that_leaves(loud_model):
    seen = []
    runtime, worker = build(loud_model, lambda clip: seen.append(runtime.indicator.is_on))
    audio = np.concatenate([noise(2.0, -60), burst(0.3), noise(1.0, -30), noise(3.0, -65)] * 3)
    states = []
    source = FileSource(b for b in blocks_of(audio) if states.append(runtime.indicator.is_on) or True)
    runtime.run(source)
    worker.close()
    assert seen == [True, True, True]  # every delivery happened with the light on
    assert not runtime.indicator.is_on
    assert runtime.indicator.changes >= 6 and any(states) and not all(states)


def test_indicator_output_follows_the_holds_when_a_hold_races_a_release(tmp_path):
    """A capture ends (release: the light goes off, slowly) while a delivery starts (hold) on another thread:
    the light must end up on, and every output must agree."""
    shown = []
    releasing = threading.Event()

    def slow_output(on):
        if not on:
            releasing.set()
            time.sleep(0.2)  # an LED driver or a slow disk, just as the other thread takes its hold
        shown.append(on)

    indicator = Indicator(tmp_path / "indicator", outputs=[slow_output])
    capture = indicator.hold("capturing")
    releaser = threading.Thread(target=indicator.release, args=(capture,))
    releaser.start()
    releasing.wait(5)
    delivery = indicator.hold("sending")
    releaser.join()
    assert indicator.is_on and shown[-1] is True
    assert (tmp_path / "indicator").read_text() == "on\n"
    indicator.release(delivery)
    assert shown[-1] is False and (tmp_path / "indicator").read_text() == "off\n"


def test_mute_stops_the_audio_and_zeroes_the_buffers(loud_model):
    clips = []
    runtime, worker = build(loud_model, clips.append)
    controller = runtime.controller
    audio = np.concatenate([noise(2.0, -60), burst(0.3), noise(0.5, -30), noise(0.5, -60)])
    fed = []

    def source_blocks():
        for i, block in enumerate(blocks_of(audio)):
            if i == 60:  # mid-capture (the wake word ended at 2.3 s = block 57)
                controller.set_muted(True)
                threading.Timer(0.2, controller.set_muted, args=(False,)).start()
            fed.append(i)
            yield block

    runtime.run(FileSource(source_blocks()))
    worker.close()
    assert runtime.mutes == 1
    assert clips == []  # the capture in progress was dropped, not stored
    assert runtime.pipeline.gate.ring.holds_only_zeros()
    assert runtime.pipeline.stats.samples == len(audio) - BLOCK  # the block that saw the mute was not fed


@pytest.mark.skipif(ctypes.util.find_library("portaudio") is None, reason="needs PortAudio")
def test_mute_closes_the_microphone_of_a_running_gate(tmp_path, loud_model, data_dir):
    from test_microphone import PacedMicrophone, alsa_config

    mic = PacedMicrophone(tmp_path / "mic.fifo", noise(60.0, -60), speed=1.0)
    env = dict(os.environ, ALSA_CONFIG_PATH=str(alsa_config(tmp_path, mic.path)), PYTHONUNBUFFERED="1")
    gate = subprocess.Popen([sys.executable, "-m", "firmware_py", "run", "--device", "fixture", "--model", str(loud_model),
                             "--data-dir", str(data_dir)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    socket_path = data_dir / "control.sock"

    def ask(*args):
        result = subprocess.run([sys.executable, "-m", "firmware_py", *args, "--data-dir", str(data_dir)],
                                capture_output=True, text=True, timeout=20)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def fifo_open_in_gate():
        fds = os.listdir(f"/proc/{gate.pid}/fd")
        return any(os.readlink(f"/proc/{gate.pid}/fd/{fd}") == str(mic.path) for fd in fds if os.path.exists(f"/proc/{gate.pid}/fd/{fd}"))

    try:
        deadline = time.monotonic() + 20
        while not (socket_path.exists() and fifo_open_in_gate()):
            assert time.monotonic() < deadline and gate.poll() is None, gate.stderr.read() if gate.poll() is not None else "no start"
            time.sleep(0.1)
        assert json.loads(ask("status", "--json"))["state"] == "listening"
        ask("mute", "on")
        time.sleep(0.5)
        status = json.loads(ask("status", "--json"))
        assert status["state"] == "muted" and status["mutes"] == 1
        assert not fifo_open_in_gate()  # the capture stream itself is closed, not just ignored
        assert (socket_path.stat().st_mode & 0o777) == 0o600
        ask("mute", "off")
        deadline = time.monotonic() + 10
        while not fifo_open_in_gate():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert json.loads(ask("status", "--json"))["state"] == "listening"
        human = ask("status")
        assert human.startswith("state listening") and "models loud test-1" in human
    finally:
        gate.terminate()
        gate.wait(20)
        mic.stop()
    assert gate.returncode == 0
    assert not socket_path.exists()


def test_control_commands_without_a_running_gate(tmp_path):
    from firmware_py.errors import WakegateError

    with pytest.raises(WakegateError, match="no wakegate running"):
        send_command(tmp_path / "control.sock", "status")
