"""Property-based and hostile-peer tests for what the Wyoming servers read from the network.

Arbitrary event sequences go through the wake service's and the satellite's connection handlers
(in memory); real servers on 127.0.0.1 are then fed huge declared lengths and stalled events, and
must drop that peer promptly, without buffering what it declared, while serving others.
"""

import asyncio
import json
import socket
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzz_wyoming  # noqa: E402
import fuzzlib  # noqa: E402
from firmware_py import wyoming_satellite  # noqa: E402
from firmware_py.detector import DetectorSettings  # noqa: E402
from firmware_py.wyoming_satellite import MAX_EVENT_PAYLOAD, WyomingSatellite  # noqa: E402
from firmware_py.wyoming_wake import WyomingWakeService  # noqa: E402

FUZZ = settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
TYPES = ["describe", "ping", "detect", "audio-start", "audio-chunk", "audio-stop", "run-satellite",
         "pause-satellite", "transcript", "error"]
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=6)
audio_numbers = st.one_of(st.sampled_from([16000, 44100, 8000, 2, 1, 3, 4, 0, -1, 10**12, 2**63, True, 1.5, "16000"]),
                          json_values)
data = st.fixed_dictionaries({}, optional={"rate": audio_numbers, "width": audio_numbers, "channels": audio_numbers,
                                           "timestamp": audio_numbers, "names": json_values, "text": json_values})
events = st.tuples(st.sampled_from(TYPES) | st.text(max_size=10), data | json_values, st.binary(max_size=64),
                   st.sampled_from(["framed", "inline", "lie"]))


def encode(type_, data_, payload: bytes, how: str) -> bytes:
    header = {"type": type_}
    if how == "inline":  # data inside the header line, as some clients send it
        header["data"] = data_
        body = b""
    else:
        data_bytes = json.dumps(data_).encode()
        header["data_length"] = len(data_bytes) + (3 if how == "lie" else 0)
        body = data_bytes
    if payload:
        header["payload_length"] = len(payload)
        body += payload
    return json.dumps(header).encode() + b"\n" + body


@FUZZ
@given(st.lists(events, max_size=6))
def test_event_sequences(sequence):
    fuzz_wyoming.one_input(b"".join(encode(*event) for event in sequence))


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes(data_):
    fuzz_wyoming.one_input(data_)


@pytest.mark.parametrize("name", sorted(p.name for p in (Path(__file__).parent / "fuzz" / "regressions" / "wyoming").iterdir()))
def test_regressions(name):
    fuzz_wyoming.one_input(fuzzlib.read_input(Path(__file__).parent / "fuzz" / "regressions" / "wyoming" / name))


# -- real servers, hostile peers ---------------------------------------------------------------------


@pytest.fixture
def wake_uri(loud_model):
    with WyomingWakeService("tcp://127.0.0.1:0", [str(loud_model)], DetectorSettings()) as service:
        yield service.uri


@pytest.fixture
def satellite_uri():
    models = fuzz_wyoming._setup()[0].models
    with WyomingSatellite("tcp://127.0.0.1:0", models) as satellite:
        yield satellite.uri


def connect(uri: str) -> socket.socket:
    host, port = uri.removeprefix("tcp://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True if the server closes the connection (EOF or reset) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def still_answers(uri: str) -> bool:
    with connect(uri) as sock:
        sock.sendall(b'{"type": "ping", "data": {"text": "hi"}}\n')
        sock.settimeout(5)
        return b"pong" in sock.recv(65536)


@pytest.mark.parametrize("server", ["wake_uri", "satellite_uri"])
@pytest.mark.parametrize("header", [
    {"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 10**12},
    {"type": "describe", "data_length": 2**62},
    {"type": "audio-chunk", "payload_length": MAX_EVENT_PAYLOAD + 1},
    {"type": "ping", "payload_length": "12"},
    {"type": "ping", "data_length": -5},
])
def test_huge_or_bad_declared_lengths_drop_the_peer(request, server, header):
    """The wyoming library would readexactly() whatever a header declares: buffering up to that much
    (a terabyte here) as the peer streams it. We refuse such a header at once and hang up."""
    uri = request.getfixturevalue(server)
    with connect(uri) as sock:
        sock.sendall(json.dumps(header).encode() + b"\n" + b"\0" * 65536)
        assert closed_within(sock, 5.0)
    assert still_answers(uri)


@pytest.mark.parametrize("server", ["wake_uri", "satellite_uri"])
def test_a_peer_that_stalls_mid_event_is_dropped(request, server, monkeypatch):
    """A header declaring 1000 payload bytes, then 10 of them, then silence: the library would wait for
    ever; we drop the peer after EVENT_BODY_TIMEOUT_S (shortened here)."""
    monkeypatch.setattr(wyoming_satellite, "EVENT_BODY_TIMEOUT_S", 0.5)
    uri = request.getfixturevalue(server)
    with connect(uri) as sock:
        start = time.monotonic()
        sock.sendall(b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 1000}\n' + b"\0" * 10)
        assert closed_within(sock, 5.0)
        assert time.monotonic() - start < 4.0
    assert still_answers(uri)


def test_a_header_line_over_the_limit_drops_the_peer(wake_uri):
    with connect(wake_uri) as sock:
        try:
            sock.sendall(b'{"type": "' + b"x" * 200_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_within(sock, 5.0)
    assert still_answers(wake_uri)


def test_odd_audio_is_answered_or_dropped_never_crashes(wake_uri):
    """Chunks before audio-start, odd byte counts, absurd formats, over one connection each."""
    cases = [
        [{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload": b"\1" * 333},
         {"type": "audio-stop"}],
        [{"type": "audio-chunk", "data": {"rate": 10**12, "width": 2, "channels": 1}, "payload": b"\1" * 4}],
        [{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 2**31}, "payload": b"\1" * 4}],
        [{"type": "audio-chunk", "data": {"rate": "16000", "width": 2.0, "channels": True}, "payload": b"\1" * 4}],
        [{"type": "audio-start", "data": {"rate": 16000, "width": 2, "channels": 1, "timestamp": "soon"}},
         {"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1, "timestamp": [1]}, "payload": b"\1" * 7},
         {"type": "audio-stop"}],
        [{"type": "detect", "data": {"names": [1, None]}}],
        [{"type": "detect", "data": {"names": "loud"}}],
    ]

    async def exchange(events):
        host, port = wake_uri.removeprefix("tcp://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        for event in events:
            payload = event.get("payload", b"")
            header = {"type": event["type"], "data": event.get("data", {})}
            if payload:
                header["payload_length"] = len(payload)
            writer.write(json.dumps(header).encode() + b"\n" + payload)
        writer.write(b'{"type": "ping", "data": {"text": "end"}}\n')
        try:
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(65536), 5.0)  # a pong, a not-detected, or EOF (dropped)
        except (ConnectionResetError, BrokenPipeError):
            # Dropped while our bytes were still unread in the server's socket: the kernel answers with RST.
            answer = b""
        writer.close()
        return answer

    for events in cases:
        asyncio.run(exchange(events))
    assert still_answers(wake_uri)
