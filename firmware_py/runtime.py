"""The running gate: a source of audio, the pipeline, the sinks, mute, and the control socket.

``Runtime.run`` is the audio loop of ``wakegate run``. Mute closes the input stream itself (no
capture at all, not just no detection) and zeroes every buffer; unmute opens it again. Commands
arrive from other threads through ``Controller`` (the control socket, a GPIO button) and are acted on
by the audio loop between blocks, so the loop never shares the gate with another thread.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import WakegateError
from .gate import GateState
from .indicator import Indicator
from .pipeline import Pipeline

log = logging.getLogger("wakegate")


class Controller:
    """Mute state and stop requests, set from any thread, obeyed by the audio loop."""

    def __init__(self):
        self._muted = False
        self._changed = threading.Condition()
        self.stopping = False

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        with self._changed:
            self._muted = muted
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self.stopping = True
            self._changed.notify_all()

    def wait_while_muted(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: not self._muted or self.stopping)


class FileSource:
    """Replayed audio. Mute pauses the replay; it carries on where it stopped on unmute."""

    overflows = None

    def __init__(self, blocks: Iterator):
        self._blocks = iter(blocks)

    def open(self) -> "FileSource":
        return self

    def blocks(self) -> Iterator:
        return self._blocks

    def close(self) -> None:
        pass


class MicrophoneSource:
    """A microphone that is really closed while muted: a new stream is opened on unmute."""

    def __init__(self, make_microphone: Callable):
        self._make = make_microphone
        self._microphone = None
        self.overflows = 0
        self.device_name = ""

    def open(self) -> "MicrophoneSource":
        self._microphone = self._make()
        self._microphone.open()
        self.device_name = self._microphone.device.name
        return self

    @property
    def description(self) -> str:
        m = self._microphone
        return f"{m.device.name} ({m.rate} Hz, {m.channels} ch)"

    def blocks(self) -> Iterator:
        return self._microphone.blocks()

    def close(self) -> None:
        if self._microphone is not None:
            self._microphone.close()
            self.overflows += self._microphone.overflows
            self.wedged = self._microphone.wedged
            self._microphone = None

    wedged = False


class Runtime:
    def __init__(self, pipeline: Pipeline, controller: Controller, indicator: Indicator, limit_samples: int | None = None,
                 on_block: Callable[[], None] | None = None):
        self.pipeline = pipeline
        self.on_block = on_block  # called after every block fed: proof of life for a watchdog
        self.controller = controller
        self.indicator = indicator
        self.limit_samples = limit_samples
        self.started = time.monotonic()
        self.mutes = 0
        self._capture_hold: int | None = None

    @property
    def state(self) -> str:
        if self.controller.muted:
            return "muted"
        return self.pipeline.gate.state.value

    def run(self, source) -> None:
        """Feed the source through the pipeline until it ends, the limit is reached or stop()."""
        try:
            while not self.controller.stopping:
                source.open()
                try:
                    finished = self._feed(source.blocks())
                finally:
                    source.close()
                if finished:
                    return
                self._mute()
                self.controller.wait_while_muted()
                self.pipeline.gate.unmute()
                log.warning("unmuted: listening again")
        finally:
            self.pipeline.finish()
            self._track_capture()

    def _feed(self, blocks) -> bool:
        """True when the audio is over; False when mute interrupted it."""
        gate = self.pipeline.gate
        for block in blocks:
            if self.controller.muted:
                return False
            if self.controller.stopping:
                return True
            if self.limit_samples is not None:
                room = self.limit_samples - self.pipeline.stats.samples
                if room <= 0:
                    return True
                block = block[:room]
            self.pipeline.feed(block)
            if self.on_block is not None:
                self.on_block()
            if (gate.state is GateState.CAPTURING) != (self._capture_hold is not None):
                self._track_capture()
        return not self.controller.muted

    def _track_capture(self) -> None:
        capturing = self.pipeline.gate.state is GateState.CAPTURING
        if capturing and self._capture_hold is None:
            self._capture_hold = self.indicator.hold("capturing a clip")
        elif not capturing and self._capture_hold is not None:
            self.indicator.release(self._capture_hold)
            self._capture_hold = None

    def _mute(self) -> None:
        self.mutes += 1
        self.pipeline.gate.mute()  # drops a capture in progress and zeroes the ring
        self.pipeline.detector.reset()
        self._track_capture()
        log.warning("muted: input stream closed, buffers zeroed")


# -- control socket ------------------------------------------------------------------------------


class ControlServer:
    """A Unix socket for ``wakegate mute`` and ``wakegate status``, usable only by the owning user.

    One JSON object per line in each direction: {"command": "mute"|"unmute"|"status"}.
    """

    def __init__(self, path: Path, controller: Controller, status: Callable[[], dict]):
        self.path = Path(path)
        self._controller = controller
        self._status = status
        self._socket: socket.socket | None = None

    def start(self) -> None:
        if self.path.exists():
            if _answering(self.path):
                raise WakegateError(f"another wakegate is running (control socket {self.path})")
            self.path.unlink()
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket is created 0600: only its owner may connect
        try:
            self._socket.bind(str(self.path))
        finally:
            os.umask(old_umask)
        self._socket.listen(4)
        threading.Thread(target=self._serve, name="wakegate-control", daemon=True).start()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
            self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while self._socket is not None:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2.0)
                try:
                    request = json.loads(connection.makefile("rb").readline(4096) or b"{}")
                    reply = self._handle(request)
                except (OSError, ValueError) as exc:
                    reply = {"ok": False, "error": f"bad request: {exc}"}
                try:
                    connection.sendall(json.dumps(reply).encode() + b"\n")
                except OSError:
                    pass

    def _handle(self, request) -> dict:
        command = request.get("command") if isinstance(request, dict) else None
        if command == "mute":
            self._controller.set_muted(True)
        elif command == "unmute":
            self._controller.set_muted(False)
        elif command != "status":
            return {"ok": False, "error": f"unknown command {command!r} (mute, unmute, status)"}
        return {"ok": True, **self._status()}


def _answering(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def send_command(path: Path, command: str, timeout_s: float = 5.0) -> dict:
    """What ``wakegate mute/status`` do: one request to a running gate."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout_s)
    try:
        client.connect(str(path))
        client.sendall(json.dumps({"command": command}).encode() + b"\n")
        reply = client.makefile("rb").readline()
    except FileNotFoundError:
        raise WakegateError(f"no wakegate running (no control socket at {path})") from None
    except OSError as exc:
        raise WakegateError(f"cannot reach the running wakegate at {path}: {exc}") from None
    finally:
        client.close()
    try:
        return json.loads(reply)
    except ValueError:
        raise WakegateError(f"the running wakegate gave an unreadable answer: {reply[:80]!r}") from None
