"""Hostile HTTP receivers: a raw socket server on 127.0.0.1 answers ``send`` with garbage status
lines, huge bodies, trickled answers and resets. ``send`` must return a status or raise
DeliveryError with a one-line message, within its deadline; ``Deliverer`` must keep running."""

import socket
import struct
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzz_http_response  # noqa: E402
import fuzzlib  # noqa: E402
from firmware_py import delivery  # noqa: E402
from firmware_py.delivery import DeliveryError, SinkSettings, send  # noqa: E402

FUZZ = settings(max_examples=30, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
REGRESSIONS = Path(__file__).parent / "fuzz" / "regressions" / "http_response"

status_lines = st.one_of(
    st.binary(max_size=60),
    st.builds(lambda v, c, r: f"{v} {c} {r}".encode("latin-1", "replace"),
              st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2", "ICY", "HTTP/1.1x", ""]),
              st.one_of(st.integers(-5, 1000), st.text(max_size=4)), st.text(max_size=20)),
)
headers = st.lists(st.one_of(st.sampled_from([b"Content-Length: 5", b"Content-Length: -1", b"Content-Length: 99999999999",
                                              b"Transfer-Encoding: chunked", b"Location: http://127.0.0.1:1/",
                                              b"Content-Length: x", b"Connection: close"]),
                             st.binary(max_size=30)), max_size=5)


@FUZZ
@given(status_lines, headers, st.binary(max_size=200))
def test_garbage_answers(status, header_lines, body):
    fuzz_http_response.one_input(status + b"\r\n" + b"\r\n".join(header_lines) + b"\r\n\r\n" + body)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes(data):
    fuzz_http_response.one_input(data)


@pytest.mark.parametrize("name", sorted(p.name for p in REGRESSIONS.iterdir()))
def test_regressions(name):
    """Inputs that crashed send() before: http.client's BadStatusLine/LineTooLong/IncompleteRead are
    HTTPException, not OSError, so they escaped and killed the delivery thread."""
    fuzz_http_response.one_input(fuzzlib.read_input(REGRESSIONS / name))


class Misbehaving:
    """A server that, per connection, reads the request head and then runs ``behaviour(conn)``."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            try:
                conn.settimeout(10)
                if fuzzlib.read_request_head(conn):
                    self.behaviour(conn, self.stop)
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.sock.close()


def trickle(prefix: bytes, interval: float):
    def behaviour(conn, stop):
        conn.sendall(prefix)
        while not stop.wait(interval):
            conn.sendall(b"x")
    return behaviour


def huge_body(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
    block = b"\0" * 65536
    while not stop.is_set():
        conn.sendall(block)


def reset(conn, stop):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() sends RST


def sink_for(url: str, timeout_s: float = 0.3) -> SinkSettings:
    return SinkSettings(name="hostile", type="webhook", url=url, timeout_s=timeout_s)


@pytest.mark.parametrize("behaviour, expect", [
    (trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", 0.2), "no complete answer in time"),  # headers never end
    (trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 0.2), "no complete answer in time"),  # body trickles
    (trickle(b"", 0.2), "no complete answer in time"),  # a status line of endless x
    (huge_body, 200),  # reads 64 KiB of a gigabyte, then stops
    (reset, "Error"),
    (lambda conn, stop: conn.sendall(b"garbage\r\n\r\n"), "BadStatusLine"),
    (lambda conn, stop: conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 200 + b"\r\n"), "HTTPException"),
    (lambda conn, stop: conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://192.0.2.1/\r\nContent-Length: 0\r\n\r\n"), "HTTP 302"),
    (lambda conn, stop: conn.sendall(b"HTTP/1.1 500 \x1b[31mred\rX\r\nContent-Length: 0\r\n\r\n"), "HTTP 500"),
])
def test_hostile_receivers(behaviour, expect):
    server = Misbehaving(behaviour)
    try:
        sink = sink_for(server.url)
        request = urllib.request.Request(server.url, data=b"sealed", method="POST")
        start = time.monotonic()
        try:
            outcome = send(sink, request)
        except DeliveryError as exc:
            fuzzlib.assert_one_line(exc)
            outcome = str(exc)
        elapsed = time.monotonic() - start
        assert elapsed < delivery.DEADLINE_FACTOR * sink.timeout_s + 1.0, f"took {elapsed:.1f} s"
        if isinstance(expect, int):
            assert outcome == expect
        else:
            assert isinstance(outcome, str) and expect in outcome, outcome
            assert outcome.isprintable()
    finally:
        server.close()


def test_a_redirect_is_not_a_delivery(tmp_path):
    """urllib followed a 302 by GETting the Location without the body (and with the bearer token):
    a 200 there counted as delivered although the clip never arrived."""
    answers = []

    def behaviour(conn, stop):
        if not answers:
            answers.append("redirect")
            conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {server.url}/elsewhere\r\nContent-Length: 0\r\n\r\n".encode())
        else:
            answers.append("ok")
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    server = Misbehaving(behaviour)
    try:
        request = urllib.request.Request(server.url, data=b"sealed", method="POST", headers={"Authorization": "Bearer t"})
        with pytest.raises(DeliveryError, match="HTTP 302"):
            send(sink_for(server.url), request)
        assert answers == ["redirect"]
    finally:
        server.close()


def test_the_delivery_thread_survives_garbage(tmp_path):
    """Before, a garbage status line raised BadStatusLine out of send() and ended the sink's thread."""
    from firmware_py.audit import AuditLog
    from firmware_py.delivery import Deliverer, Outbox
    from firmware_py.sealing import OwnerPublicKey, generate_keys, seal

    server = Misbehaving(lambda conn, stop: conn.sendall(b"\x00garbage\r\n\r\n"))
    try:
        generate_keys(tmp_path / "owner.key", tmp_path / "owner.pub")
        sink = sink_for(server.url)
        outbox = Outbox(tmp_path, sink, OwnerPublicKey.load(tmp_path / "owner.pub"))
        outbox.dir.mkdir(parents=True)
        meta = {"id": "c1", "time": "t", "wake_word": "w", "score": 1, "duration_s": 1, "model_version": "v"}
        (outbox.dir / "c1.clip").write_bytes(seal(b"RIFF", meta, OwnerPublicKey.load(tmp_path / "owner.pub")))
        audit = AuditLog(tmp_path / "audit.log")
        deliverer = Deliverer(outbox, tmp_path, audit, backoff_s=(0.05, 0.1)).start()
        time.sleep(1.0)
        assert deliverer._thread.is_alive()
        failures = [e for e in audit.entries() if e["event"] == "delivery_failed"]
        assert failures and failures[0]["will_retry"] and "BadStatusLine" in failures[0]["error"]
        assert outbox.pending(), "a failed delivery keeps its pending copy"
        deliverer.close()
    finally:
        server.close()
