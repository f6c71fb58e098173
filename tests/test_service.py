"""systemd integration: the notify protocol against a real datagram socket, and the unit file."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from firmware_py.service import SystemdNotifier
from synthetic_model import noise
from test_boards import needs_alsa

REPO = Path(__file__).resolve().parent.parent


class NotifyListener:
    """The systemd end of $NOTIFY_SOCKET: every datagram, with the time it came."""

    def __init__(self, address):
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(address)
        self.socket.settimeout(0.2)
        self.messages = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self):
        while not self._stop.is_set():
            try:
                data = self.socket.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def times(self, line):
        return [t for t, message in self.messages if line in message.splitlines()]

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.socket.close()


def test_notifier_speaks_the_protocol_on_a_path_socket(tmp_path):
    listener = NotifyListener(str(tmp_path / "notify"))
    try:
        notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "600000"})
        assert notifier.watchdog_interval_s == pytest.approx(0.2)
        notifier.ready("listening")
        for _ in range(5):  # the audio loop calls this every block; systemd hears it once per interval
            notifier.alive()
        notifier.stopping()
        time.sleep(0.3)
    finally:
        listener.close()
    assert [m for _, m in listener.messages] == ["READY=1\nSTATUS=listening", "WATCHDOG=1", "STOPPING=1\nSTATUS=stopping"]


def test_notifier_is_silent_outside_systemd_and_for_another_pids_watchdog():
    assert not SystemdNotifier({}).enabled
    SystemdNotifier({}).ready("nothing happens")
    other = SystemdNotifier({"NOTIFY_SOCKET": "@nowhere", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert other.enabled and other.watchdog_interval_s is None


@needs_alsa
def test_watchdog_is_fed_while_frames_flow_and_stops_when_the_mic_stalls(tmp_path, loud_model, data_dir):
    from test_microphone import PacedMicrophone, alsa_config

    name = f"wakegate-test-{os.getpid()}-{time.monotonic_ns()}"
    listener = NotifyListener("\0" + name)  # systemd's own sockets are often abstract: '@' in NOTIFY_SOCKET
    mic = PacedMicrophone(tmp_path / "mic.fifo", noise(3.0, -60), speed=1.0, stall=True)
    config = tmp_path / "wakegate.toml"
    config.write_text('[audio]\ndevice = "fixture"\nstall_timeout_s = 60.0\n')  # the watchdog, not the gate, notices
    env = dict(os.environ, ALSA_CONFIG_PATH=str(alsa_config(tmp_path, mic.path)), PYTHONUNBUFFERED="1",
               NOTIFY_SOCKET="@" + name, WATCHDOG_USEC="300000", WATCHDOG_PID="")
    gate = subprocess.Popen([sys.executable, "-m", "firmware_py", "run", "--config", str(config), "--model", str(loud_model),
                             "--data-dir", str(data_dir)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not listener.times("READY=1"):
            assert time.monotonic() < deadline and gate.poll() is None, "no READY=1"
            time.sleep(0.05)
        # Wait for a watchdog silence of 1.5 s (five missed keep-alives) while the gate still runs.
        while True:
            assert time.monotonic() < deadline, "the watchdog kept being fed after the mic stalled"
            fed = listener.times("WATCHDOG=1")
            if fed and time.monotonic() - fed[-1] > 1.5:
                break
            time.sleep(0.1)
        assert gate.poll() is None  # silent because the audio stopped, not because the gate exited
        ready = listener.times("READY=1")[0]
        assert len(fed) >= 5 and all(t > ready for t in fed)
        assert max(b - a for a, b in zip(fed, fed[1:])) < 1.0  # steady while frames flowed
    finally:
        gate.terminate()
        out, err = gate.communicate(timeout=20)
        mic.stop()
        time.sleep(0.3)
        listener.close()
    assert gate.returncode == 0, err
    assert listener.times("STOPPING=1")


def unit_with_exec_start(tmp_path, exec_start):
    unit = (REPO / "hw" / "wakegate.service").read_text()
    assert "ExecStart=/opt/wakegate/.venv/bin/wakegate run " in unit
    copy = tmp_path / "wakegate.service"
    copy.write_text(unit.replace("ExecStart=/opt/wakegate/.venv/bin/wakegate", f"ExecStart={exec_start}"))
    return copy


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_unit_file_passes_systemd_analyze_verify(tmp_path):
    # verify needs ExecStart to exist: point it at this checkout's wakegate instead of /opt/wakegate.
    wakegate = Path(sys.executable).parent / "wakegate"
    if not wakegate.exists():
        pytest.skip("wakegate is not installed in this environment's bin")
    result = subprocess.run(["systemd-analyze", "verify", str(unit_with_exec_start(tmp_path, wakegate))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "wakegate.service" not in result.stderr, result.stderr  # warnings (e.g. an unknown setting) count as failures
    # The check is meaningful: a broken unit does fail it.
    broken = unit_with_exec_start(tmp_path, tmp_path / "missing" / "wakegate")
    result = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 or "wakegate.service" in result.stderr


def test_unit_file_has_the_promised_settings():
    unit = (REPO / "hw" / "wakegate.service").read_text()
    settings = {line.split("=", 1)[0] for line in unit.splitlines() if "=" in line and not line.startswith("#")}
    for required in ["Type", "WatchdogSec", "Restart", "User", "SupplementaryGroups", "StateDirectory", "StateDirectoryMode",
                     "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "DeviceAllow", "RestrictAddressFamilies",
                     "SystemCallFilter"]:
        assert required in settings, required
    for breaks_audio in ["MemoryDenyWriteExecute", "PrivateDevices"]:
        assert breaks_audio not in settings, f"{breaks_audio} breaks PortAudio (see the comment in the unit)"
    assert "Type=notify" in unit and "StateDirectoryMode=0700" in unit and "DeviceAllow=char-alsa rw" in unit
