"""Logs at every level carry neither audio nor secrets: a full run at DEBUG, with a bearer token, key
files, failed and successful deliveries, and everything it prints is checked."""

import subprocess
import sys

import numpy as np
import soundfile as sf

from https_server import Receiver, make_test_ca
from synthetic_model import burst, noise

RATE = 16000
TOKEN = "s3cret-Token-0f9e8d7c"


def test_debug_logs_hold_no_audio_and_no_secrets(tmp_path, loud_model, data_dir, owner_key):
    ca, cert, key = make_test_ca(tmp_path)
    receiver = Receiver(cert, key)
    receiver.fail_next = 2  # failures and retries are logged too
    config = tmp_path / "wakegate.toml"
    config.write_text(f'[spool]\ndir = "{data_dir}"\n[[sinks]]\nname = "hook"\ntype = "webhook"\n'
                      f'url = "https://127.0.0.1:{receiver.port}/"\nca_file = "{ca}"\ntoken = "{TOKEN}"\n')
    audio = np.concatenate([noise(2.0, -60), burst(0.3), noise(1.0, -30), noise(3.0, -65)] * 2)
    path = tmp_path / "wake.wav"
    sf.write(path, audio, RATE, subtype="PCM_16")
    try:
        result = subprocess.run([sys.executable, "-m", "firmware_py", "-vv", "run", "--input", str(path),
                                 "--model", str(loud_model), "--config", str(config)],
                                capture_output=True, text=True, timeout=120)
    finally:
        receiver.close()
    assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == 2
    output = result.stdout + result.stderr
    assert "HTTP 503" in result.stderr  # the delivery path's own messages were there to check
    secrets = [TOKEN, "PRIVATE KEY", owner_key.read_text().splitlines()[1][:24], (data_dir / "owner.pub").read_text().splitlines()[1][:24]]
    for secret in secrets:
        assert secret not in output
    for line in output.splitlines():  # audio would show up as long byte or array reprs
        assert len(line) < 400 and "\\x" not in line and "array(" not in line, line
