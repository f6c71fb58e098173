"""Fuzz target: the Wyoming wake service's and the satellite's handling of a peer's bytes.

The bytes are what a hostile peer sends on the connection: header lines, data, payloads, in any
order (audio-chunk before audio-start, odd byte counts, absurd rate/width/channels, huge declared
lengths). Each handler must end the connection cleanly or with a WakegateError (WyomingError or
AudioError, which the servers turn into a dropped client), never another exception, a hang or an
allocation beyond the event limits.
"""

import asyncio
import logging
import tempfile
from pathlib import Path

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.detector import DetectorSettings
    from firmware_py.errors import WakegateError
    from firmware_py.model import StreamingModel
    from firmware_py.wyoming_satellite import WyomingSatellite, _PeerHandler
    from firmware_py.wyoming_wake import WyomingWakeService, _WakeHandler

from synthetic_model import build_loud_sound_model  # noqa: E402

RUN_TIMEOUT_S = 10.0  # a handler fed a finite stream ending in EOF must finish long before this


class FakeWriter:
    """Collects what a handler writes; enough of asyncio.StreamWriter for the wyoming library."""

    def __init__(self):
        self.written = bytearray()
        self.closed = False

    def write(self, data):
        self.written += data

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    async def drain(self):
        pass

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed

    async def wait_closed(self):
        pass

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 12345) if name == "peername" else default


class StubWakeService:
    """The parts of WyomingWakeService a handler uses, over one loaded model (no signature check)."""

    def __init__(self, model_path: Path):
        self._loaded = [StreamingModel(model_path)]
        self.settings = DetectorSettings()
        self.models = [m.info for m in self._loaded]

    new_detector = WyomingWakeService.new_detector
    info = WyomingWakeService.info


_service = None
_satellite = None


def _setup():
    global _service, _satellite
    if _service is None:
        folder = Path(tempfile.mkdtemp(prefix="wakegate-fuzz-wyoming-"))
        _service = StubWakeService(build_loud_sound_model(folder / "loud.onnx"))
        _satellite = WyomingSatellite("tcp://127.0.0.1:0", models=_service.models)  # never started
    return _service, _satellite


async def _feed(handler_class, owner, data: bytes) -> None:
    reader = asyncio.StreamReader()  # the default 64 KiB line limit, as asyncio.start_server gives
    reader.feed_data(data)
    reader.feed_eof()
    writer = FakeWriter()
    handler = handler_class(owner, reader, writer)
    try:
        await asyncio.wait_for(handler.run(), RUN_TIMEOUT_S)
    except WakegateError as exc:
        fuzzlib.assert_one_line(exc)
    assert writer.closed, "the handler did not close the connection"


def one_input(data: bytes) -> None:
    service, satellite = _setup()
    asyncio.run(_feed(_WakeHandler, service, data))
    asyncio.run(_feed(_PeerHandler, satellite, data))


if __name__ == "__main__":
    logging.getLogger("wakegate").setLevel(logging.CRITICAL)  # a warning per dropped peer would drown the fuzzer
    fuzzlib.main(one_input, setup=_setup)
