"""The real microphone path: sounddevice → PortAudio → ALSA, fed by ALSA's ``file`` plugin.

ALSA reads its configuration once per process, so every test runs ``wakegate`` in a subprocess
with ``ALSA_CONFIG_PATH`` pointing at a config that defines the fixture devices.
"""

import ctypes.util
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import open_clips
from firmware_py.config import AudioSettings
from synthetic_model import burst, noise

pytestmark = pytest.mark.skipif(
    ctypes.util.find_library("portaudio") is None or not os.path.exists("/usr/share/alsa/alsa.conf"),
    reason="needs PortAudio (libportaudio2) and ALSA's configuration (alsa-utils / libasound2)",
)

RATE = 16000


def alsa_config(tmp_path, infile):
    config = tmp_path / "asound.conf"
    config.write_text(
        f"""</usr/share/alsa/alsa.conf>
pcm.fixture {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{infile}"
    format "raw"
}}
# A USB-style microphone: 48 kHz stereo only, converted by ALSA's plug from the 16 kHz fixture.
pcm.usbmic {{
    type plug
    slave {{ pcm "fixture"; rate 16000; channels 1; format S16_LE }}
}}
"""
    )
    return config


def wakegate(args, config, timeout=60):
    env = dict(os.environ, ALSA_CONFIG_PATH=str(config), PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "firmware_py", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


class PacedMicrophone:
    """Feeds audio into a FIFO that ALSA's file plugin reads, at a steady pace like a real mic.

    A plain file would be read as fast as PortAudio can go (ALSA's null slave has no clock), which
    no real microphone does. The FIFO is held open read-write, so PortAudio's probing opens and
    closes never see an end of file. After the audio it sends silence, or nothing if ``stall``.
    """

    def __init__(self, path, audio, speed=4.0, block=AudioSettings().block_samples, stall=False):
        # Whole blocks, as the gate's stream asks for them: ALSA's file plugin pads a short read
        # from the FIFO with silence, which a real microphone never does.
        os.mkfifo(path)
        self.path, self.audio, self.block, self.stall = path, audio, block, stall
        self.interval = block / RATE / speed
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self):
        position = 0
        while not self._stop.is_set():
            chunk = self.audio[position : position + self.block]
            if len(chunk) < self.block:
                if self.stall:
                    self._stop.wait()
                    return
                chunk = np.concatenate([chunk, np.zeros(self.block - len(chunk), np.int16)])
            data = chunk.astype("<i2").tobytes()
            while data and not self._stop.is_set():
                try:
                    data = data[os.write(self._fd, data) :]
                except BlockingIOError:  # the reader is behind (or gone): wait like a real device
                    time.sleep(self.interval)
            position += self.block
            time.sleep(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        os.close(self._fd)


AUDIO = np.concatenate([noise(2.0, -60, seed=1), burst(0.3), noise(1.0, -30, seed=2), noise(2.0, -65, seed=3)])


@pytest.fixture
def spoken(tmp_path):
    """A paced microphone saying: background, the stand-in wake word, a command, then quiet."""
    mic = PacedMicrophone(tmp_path / "mic.fifo", AUDIO)
    yield AUDIO, mic.path
    mic.stop()


def test_devices_lists_the_alsa_fixture(tmp_path):
    raw = tmp_path / "mic.raw"
    raw.write_bytes(AUDIO.astype("<i2").tobytes())
    result = wakegate(["devices"], alsa_config(tmp_path, raw))
    assert result.returncode == 0, result.stderr
    assert "fixture" in result.stdout and "usbmic" in result.stdout


def test_microphone_clip_is_bit_exact(tmp_path, spoken, loud_model, data_dir, owner_key):
    audio, raw = spoken
    data = data_dir
    result = wakegate(
        ["run", "--device", "fixture", "--model", str(loud_model), "--data-dir", str(data), "--duration", "6"],
        alsa_config(tmp_path, raw),
    )
    assert result.returncode == 0, result.stderr
    assert "listening on fixture (16000 Hz, 1 ch)" in result.stdout
    assert "0 input overflows" in result.stdout
    ((meta, clip),) = open_clips(data, owner_key)
    assert meta["sample_rate"] == RATE and meta["wake_word"] == "loud"
    # The microphone delivered the fixture unchanged, so the clip is an exact slice of it.
    start = int(np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(audio, 64) == clip[:64], axis=1))[0])
    np.testing.assert_array_equal(clip, audio[start : start + len(clip)])
    assert 2.0 - 1.5 - 0.05 <= start / RATE <= 2.0


def test_48k_stereo_microphone_is_converted(tmp_path, spoken, loud_model, data_dir):
    data = data_dir
    config = tmp_path / "mic.toml"
    config.write_text('[audio]\ndevice = "usbmic"\nrate = 48000\nchannels = 2\nchannel = 1\n')
    result = wakegate(
        ["run", "--config", str(config), "--model", str(loud_model), "--data-dir", str(data), "--duration", "6"],
        alsa_config(tmp_path, spoken[1]),
    )
    assert result.returncode == 0, result.stderr
    assert "listening on usbmic (48000 Hz, 2 ch)" in result.stdout
    assert len(list((data / "spool").glob("*.clip"))) == 1


def test_a_microphone_that_stops_delivering_ends_the_run_with_an_error(tmp_path, loud_model, data_dir):
    mic = PacedMicrophone(tmp_path / "mic.fifo", noise(1.0, -50), stall=True)
    config = tmp_path / "mic.toml"
    config.write_text('[audio]\ndevice = "fixture"\nstall_timeout_s = 1.5\n')
    started = time.monotonic()
    try:
        result = wakegate(
            ["run", "--config", str(config), "--model", str(loud_model), "--data-dir", str(data_dir)],
            alsa_config(tmp_path, mic.path),
            timeout=30,
        )
    finally:
        mic.stop()
    assert result.returncode == 2
    assert "no audio from fixture for 1.5 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20


def test_unknown_device_is_a_clear_error(tmp_path, loud_model, data_dir):
    result = wakegate(["run", "--device", "nosuchmic", "--model", str(loud_model), "--data-dir", str(data_dir)], alsa_config(tmp_path, "/dev/null"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "wakegate: error: no input device named 'nosuchmic' (see 'wakegate devices')"
