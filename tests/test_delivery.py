"""Forwarding over HTTPS to a real server on loopback with a test CA: webhook and Home Assistant STT."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from conftest import assert_no_plaintext
from firmware_py.config import load_settings
from firmware_py.errors import ConfigError
from firmware_py.sealing import load_private_key, open_sealed, read_header
from https_server import Receiver, make_test_ca
from synthetic_model import burst, noise

RATE = 16000
WAKE = np.concatenate([noise(2.0, -60, seed=1), burst(0.3), noise(1.0, -30, seed=2), noise(3.0, -65, seed=3)])


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def receiver(tls, data_dir):
    server = Receiver(tls[1], tls[2], sample=lambda: (data_dir / "indicator").read_text().strip())
    yield server
    server.close()


def wav(tmp_path, audio, name="in.wav"):
    path = tmp_path / name
    sf.write(path, audio, RATE, subtype="PCM_16")
    return path


def config(tmp_path, data_dir, *sinks):
    text = f'[spool]\ndir = "{data_dir}"\n'
    for sink in sinks:
        text += "[[sinks]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in sink.items())
    path = tmp_path / "wakegate.toml"
    path.write_text(text)
    return path


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "firmware_py", "run", *map(str, args)], capture_output=True, text=True, timeout=timeout)


def audit_events(data_dir):
    return [json.loads(line) for line in (data_dir / "audit.log").read_text().splitlines()]


def test_webhook_gets_the_sealed_clip_and_the_spool_copy_goes(tmp_path, tls, receiver, loud_model, data_dir, owner_key):
    cfg = config(tmp_path, data_dir, {"name": "hook", "type": "webhook", "url": f"https://127.0.0.1:{receiver.port}/clips",
                                      "ca_file": str(tls[0]), "token": "s3cret"})
    result = run("--input", wav(tmp_path, np.concatenate([WAKE, WAKE])), "--model", loud_model, "--config", cfg)
    assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == 2 and len(receiver.unique_ids) == 2
    key = load_private_key(owner_key)
    for request in receiver.requests:
        headers = request["headers"]
        assert request["path"] == "/clips" and headers["Authorization"] == "Bearer s3cret"
        assert headers["Content-Type"] == "application/vnd.wakegate.sealed-clip"
        meta, plaintext = open_sealed(request["body"], key)  # only the owner's key opens the body
        assert headers["Idempotency-Key"] == meta["id"] == headers["X-Wakegate-Id"]
        assert headers["X-Wakegate-Wake-Word"] == "loud" and meta["preroll_s"] > 1.0  # webhook keeps the pre-roll
        assert request["sample"] == "on"  # the privacy indicator was on while it was sent
    events = [(e["event"], e.get("sink"), e.get("reason")) for e in audit_events(data_dir)]
    assert events.count(("delivered", "hook", None)) == 2
    assert events.count(("deleted", None, "delivered to every sink")) == 2
    assert list((data_dir / "spool").glob("*.clip")) == [] and list((data_dir / "outbox" / "hook").glob("*")) == []
    assert (data_dir / "indicator").read_text() == "off\n"


def test_home_assistant_stt_preset(tmp_path, tls, receiver, loud_model, data_dir):
    cfg = config(tmp_path, data_dir, {"name": "ha", "type": "ha-stt", "url": f"https://localhost:{receiver.port}",
                                      "entity": "stt.faster_whisper", "token": "llat", "ca_file": str(tls[0])},)
    cfg.write_text(cfg.read_text().replace("[spool]\n", "[spool]\nkeep_days = 7\ndevice_label = \"kitchen\"\n"))
    assert run("--input", wav(tmp_path, WAKE), "--model", loud_model, "--config", cfg).returncode == 0
    (request,) = receiver.requests
    assert request["path"] == "/api/stt/stt.faster_whisper"
    assert request["headers"]["Authorization"] == "Bearer llat"
    assert request["headers"]["X-Speech-Content"] == "format=wav; codec=pcm; sample_rate=16000; bit_rate=16; channel=1; language=en-US"
    audio, rate = sf.read(io.BytesIO(request["body"]), dtype="int16")
    # No pre-roll for speech-to-text: the audio starts right after the wake word was detected.
    start = np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(WAKE, 32) == audio[:32], axis=1))[0]
    assert 2.0 < start / RATE < 2.1
    np.testing.assert_array_equal(audio, WAKE[start : start + len(audio)])
    (kept,) = (data_dir / "spool").glob("*.clip")  # keep_days: the owner's copy stays
    assert read_header(kept.read_bytes())[0]["device"] == "kitchen"  # identity only when the owner opts in
    assert (data_dir / "device.key").stat().st_mode & 0o777 == 0o600
    assert_no_plaintext(data_dir, WAKE)


def test_tls_is_verified_by_default(tmp_path, receiver, loud_model, data_dir):
    cfg = config(tmp_path, data_dir, {"name": "hook", "type": "webhook", "url": f"https://127.0.0.1:{receiver.port}/"})
    result = run("--input", wav(tmp_path, WAKE), "--model", loud_model, "--config", cfg)
    assert result.returncode == 0
    assert receiver.requests == []
    assert "1 clip(s) still waiting for delivery" in result.stdout
    failed = [e for e in audit_events(data_dir) if e["event"] == "delivery_failed"]
    assert failed and "CERTIFICATE_VERIFY_FAILED" in failed[0]["error"] and failed[0]["will_retry"]
    assert len(list((data_dir / "outbox" / "hook").glob("*.clip"))) == 1
    assert_no_plaintext(data_dir, WAKE)


def test_a_flapping_sink_gets_each_clip_exactly_once(tmp_path, tls, receiver, loud_model, data_dir):
    receiver.fail_next = 3
    cfg = config(tmp_path, data_dir, {"name": "hook", "type": "webhook", "url": f"https://127.0.0.1:{receiver.port}/",
                                      "ca_file": str(tls[0])})
    result = run("--input", wav(tmp_path, np.concatenate([WAKE] * 3)), "--model", loud_model, "--config", cfg)
    assert result.returncode == 0, result.stderr
    if "still waiting for delivery" in result.stdout:  # a slow machine outlasted the back-off: restart
        assert run("--input", wav(tmp_path, noise(1.0, -60), "quiet.wav"), "--model", loud_model, "--config", cfg).returncode == 0
    assert len(receiver.requests) == 3 and len(receiver.unique_ids) == 3


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_kill_9_loses_no_pending_clip(tmp_path, tls, loud_model, data_dir, owner_key):
    port = free_port()  # nothing listens here yet: the sink is down
    cfg = config(tmp_path, data_dir, {"name": "hook", "type": "webhook", "url": f"https://127.0.0.1:{port}/", "ca_file": str(tls[0])})
    gate = subprocess.Popen([sys.executable, "-m", "firmware_py", "run", "--input", str(wav(tmp_path, np.concatenate([WAKE, noise(60, -60)]))),
                             "--realtime", "--model", str(loud_model), "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outbox = data_dir / "outbox" / "hook"
    deadline = time.monotonic() + 30
    while not list(outbox.glob("*.clip")):
        assert time.monotonic() < deadline and gate.poll() is None
        time.sleep(0.1)
    os.kill(gate.pid, signal.SIGKILL)
    gate.wait()
    assert not list(data_dir.rglob("*.tmp"))  # nothing half-written
    receiver = Receiver(tls[1], tls[2], port=port)
    try:
        result = run("--input", wav(tmp_path, noise(1.0, -60), "quiet.wav"), "--model", loud_model, "--config", cfg)
        assert result.returncode == 0, result.stderr
        assert len(receiver.requests) == 1
    finally:
        receiver.close()
    meta, _ = open_sealed(receiver.requests[0]["body"], load_private_key(owner_key))
    assert receiver.requests[0]["headers"]["Idempotency-Key"] == meta["id"]
    from firmware_py.audit import AuditLog

    assert AuditLog(data_dir / "audit.log").verify().ok


@pytest.mark.parametrize(
    "sink, message",
    [
        ({"name": "x", "type": "webhook", "url": "http://192.168.1.9/hook"}, "plain http:// to 192.168.1.9"),
        ({"name": "x", "type": "webhook", "url": "ftp://a/b"}, "must be an http(s):// URL"),
        ({"name": "x", "type": "ha-stt", "url": "https://ha:8123"}, "needs entity"),
        ({"name": "x", "type": "carrier-pigeon"}, "type must be one of"),
        ({"name": "", "type": "webhook", "url": "https://a/"}, "needs a name"),
        ({"name": "x", "type": "webhook", "url": "https://a/", "colour": "red"}, "unknown setting sinks[0].colour"),
    ],
)
def test_bad_sink_settings(tmp_path, data_dir, sink, message):
    import re

    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(config(tmp_path, data_dir, sink))


def test_plain_http_to_this_host_or_when_allowed(tmp_path, data_dir):
    load_settings(config(tmp_path, data_dir, {"name": "x", "type": "webhook", "url": "http://127.0.0.1:9/hook"}))
    load_settings(config(tmp_path, data_dir, {"name": "x", "type": "webhook", "url": "http://nas.lan/hook", "allow_insecure_http": True}))


def test_sends_share_one_tls_context_per_ca_file(tls):
    """A context per send parsed the system's CA certificates every time and grew resident memory with
    every clip sent (benchmarks/soak.py); one per CA file lives as long as the process."""
    import urllib.request

    from firmware_py.delivery import SinkSettings, _ssl_context, send

    receiver = Receiver(tls[1], tls[2])
    try:
        sink = SinkSettings(name="hook", type="webhook", url=f"https://127.0.0.1:{receiver.port}/clips", ca_file=str(tls[0]))
        before = _ssl_context.cache_info()
        for _ in range(3):
            assert send(sink, urllib.request.Request(sink.url, data=b"x", method="POST")) == 200
        after = _ssl_context.cache_info()
        assert after.misses - before.misses <= 1 and after.hits - before.hits >= 2
        assert len(receiver.requests) == 3
    finally:
        receiver.close()
