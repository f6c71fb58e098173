"""`wakegate run` with a Wyoming sink, and `wakegate wyoming-wake`, as Home Assistant would meet them:
the real program in a subprocess, the real `wyoming` library as the peer on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time

import numpy as np
import soundfile as sf
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info
from wyoming.satellite import RunSatellite

from synthetic_model import burst, noise

RATE = 16000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def connect(port: int, deadline_s: float = 20.0) -> AsyncTcpClient:
    deadline = time.monotonic() + deadline_s
    while True:
        client = AsyncTcpClient("127.0.0.1", port)
        try:
            await client.connect()
            return client
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def events_until(client, last: str, timeout_s: float = 30.0) -> list:
    events = []
    while not events or events[-1].type != last:
        event = await asyncio.wait_for(client.read_event(), timeout_s)
        assert event is not None, "connection closed"
        events.append(event)
    return events


def home_assistant_session(gate: subprocess.Popen, port: int, describe: bool = False):
    """Connect as Home Assistant would, start the satellite, take one clip's events; then let the gate
    finish. Returns (info or None, events up to audio-stop, the gate's stderr)."""

    async def session():
        client = await connect(port)
        info = None
        if describe:
            await client.write_event(Describe().event())
            info = Info.from_event((await events_until(client, "info", 10))[-1])
        await client.write_event(RunSatellite().event())
        events = await events_until(client, "audio-stop")
        await client.disconnect()
        return info, events

    try:
        info, events = asyncio.run(session())
        _, err = gate.communicate(timeout=60)
    finally:
        gate.kill()
    return info, events, err


def test_home_assistant_gets_the_command_live_and_the_spool_copy_goes(tmp_path, loud_model, data_dir):
    port = free_port()
    config = tmp_path / "wakegate.toml"
    config.write_text(f'[spool]\ndir = "{data_dir}"\n[[sinks]]\nname = "ha"\ntype = "wyoming"\nuri = "tcp://127.0.0.1:{port}"\n')
    audio = np.concatenate([noise(4.0, -60, seed=1), burst(0.3), noise(1.0, -30, seed=2), noise(2.0, -65, seed=3)])
    path = tmp_path / "wake.wav"
    sf.write(path, audio, RATE, subtype="PCM_16")
    gate = subprocess.Popen([sys.executable, "-m", "firmware_py", "run", "--input", str(path), "--realtime",
                             "--model", str(loud_model), "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    info, events, err = home_assistant_session(gate, port, describe=True)
    assert gate.returncode == 0, err
    assert info.satellite is not None and [m.name for w in info.wake for m in w.models] == ["loud"]
    types = [e.type for e in events]
    assert types[:3] == ["detection", "run-pipeline", "audio-start"] and types[-1] == "audio-stop"
    sent = np.concatenate([np.frombuffer(AudioChunk.from_event(e).audio, "<i2") for e in events if e.type == "audio-chunk"])
    start = np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(audio, 32) == sent[:32], axis=1))[0]
    assert 4.0 < start / RATE < 4.1  # no pre-roll for Home Assistant: the wake word is not sent
    np.testing.assert_array_equal(sent, audio[start : start + len(sent)])
    entries = [json.loads(line) for line in (data_dir / "audit.log").read_text().splitlines()]
    assert [(e["event"], e.get("sink")) for e in entries] == [("captured", None), ("delivered", "ha"), ("deleted", None)]
    assert list((data_dir / "spool").glob("*.clip")) == []


def test_without_home_assistant_the_clip_stays_in_the_spool(tmp_path, loud_model, data_dir):
    config = tmp_path / "wakegate.toml"
    config.write_text(f'[spool]\ndir = "{data_dir}"\n[[sinks]]\nname = "ha"\ntype = "wyoming"\nuri = "tcp://127.0.0.1:{free_port()}"\n')
    path = tmp_path / "wake.wav"
    sf.write(path, np.concatenate([noise(2.0, -60), burst(0.3), noise(1.0, -30), noise(2.0, -65)]), RATE, subtype="PCM_16")
    result = subprocess.run([sys.executable, "-m", "firmware_py", "run", "--input", str(path), "--model", str(loud_model),
                             "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in (data_dir / "audit.log").read_text().splitlines()]
    assert [e["event"] for e in entries] == ["captured", "delivery_failed"] and not entries[1]["will_retry"]
    assert len(list((data_dir / "spool").glob("*.clip"))) == 1


def test_wyoming_wake_command_serves_the_models(tmp_path, loud_model):
    port = free_port()
    service = subprocess.Popen([sys.executable, "-m", "firmware_py", "wyoming-wake", "--model", str(loud_model),
                                "--uri", f"tcp://127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    audio = np.concatenate([noise(1.0, -60), burst(0.3), noise(1.0, -60)])

    async def home_assistant():
        client = await connect(port)
        await client.write_event(Describe().event())
        info = Info.from_event((await events_until(client, "info", 10))[-1])
        await client.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        for i in range(0, len(audio), 1024):
            await client.write_event(AudioChunk(rate=RATE, width=2, channels=1, audio=audio[i : i + 1024].tobytes()).event())
        await client.write_event(AudioStop().event())
        event = await events_until(client, "detection", 20)
        await client.disconnect()
        return info, event[-1]

    try:
        info, detection = asyncio.run(home_assistant())
    finally:
        service.terminate()
        out, err = service.communicate(timeout=20)
    assert [m.name for w in info.wake for m in w.models] == ["loud"]
    assert detection.data["name"] == "loud"
    assert service.returncode == 0, err
    assert "serving" in out


def test_a_demo_clip_reaches_home_assistant_and_an_https_server(tmp_path, data_dir, owner_key):
    """The issue's end-to-end case: the shipped model on the demo fixture, one sealed clip in the spool,
    delivered live to a Wyoming peer and at least once to an HTTPS webhook, its life in the audit log."""
    from https_server import Receiver, make_test_ca

    from firmware_py.audit import AuditLog
    from firmware_py.cli import DEMO_FIXTURE
    from firmware_py.sealing import load_private_key, open_sealed

    ca, cert, key = make_test_ca(tmp_path)
    receiver = Receiver(cert, key)
    port = free_port()
    config = tmp_path / "wakegate.toml"
    config.write_text(
        f'[spool]\ndir = "{data_dir}"\nkeep_days = 1\n'
        f'[[sinks]]\nname = "ha"\ntype = "wyoming"\nuri = "tcp://127.0.0.1:{port}"\n'
        f'[[sinks]]\nname = "archive"\ntype = "webhook"\nurl = "https://127.0.0.1:{receiver.port}/clips"\nca_file = "{ca}"\n'
    )
    gate = subprocess.Popen([sys.executable, "-m", "firmware_py", "run", "--input", str(DEMO_FIXTURE), "--realtime", "--duration", "11",
                             "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    try:
        _, events, err = home_assistant_session(gate, port)
    finally:
        receiver.close()
    assert gate.returncode == 0, err
    assert events[0].type == "detection" and events[0].data["name"] == "alexa"
    (request,) = receiver.requests
    meta, wav = open_sealed(request["body"], load_private_key(owner_key))
    assert meta["wake_word"] == "alexa" and 2.5 < meta["duration_s"] < 4.5
    (stored,) = (data_dir / "spool").glob("*.clip")  # keep_days = 1: the owner's copy stays a day
    assert stored.stem == meta["id"]
    log = AuditLog(data_dir / "audit.log")
    assert log.verify().ok
    assert sorted((e["event"], e.get("sink")) for e in log.entries()) == [
        ("captured", None), ("delivered", "archive"), ("delivered", "ha")]
