"""Fuzz target: ``firmware_py.delivery.send`` against a raw socket server on 127.0.0.1 that answers
with the fuzz bytes (garbage status lines, bad headers, short or endless bodies), then hangs up.

``send`` must return a status or raise ``DeliveryError`` (the one error ``Deliverer`` handles) with a
one-line message.
"""

import socket
import threading
import urllib.request

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.delivery import DeliveryError, SinkSettings, send


class RawServer:
    """Accepts connections on 127.0.0.1; for each, reads the request head, sends ``answer`` and closes."""

    def __init__(self):
        self.answer = b""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                try:
                    fuzzlib.read_request_head(conn)  # answer even a client that hung up early
                    conn.sendall(self.answer)
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    pass


_server = None


def server() -> RawServer:
    global _server
    if _server is None:
        _server = RawServer()
    return _server


def one_input(data: bytes) -> None:
    srv = server()
    srv.answer = data
    sink = SinkSettings(name="fuzz", type="webhook", url=f"http://127.0.0.1:{srv.port}/hook", timeout_s=2.0)
    request = urllib.request.Request(sink.url, data=b"sealed clip", method="POST")
    status = fuzzlib.expect_clean(send, sink, request, errors=DeliveryError)
    assert status is None or isinstance(status, int)


if __name__ == "__main__":
    fuzzlib.main(one_input)
