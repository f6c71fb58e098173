"""A Wyoming wake-word service, so Home Assistant (or any Wyoming client) can use our models.

A client connects (``tcp://127.0.0.1:10400`` by default), may ask ``describe`` (we answer with our
wake models), then sends ``detect`` (optionally naming the wake words it wants), ``audio-start``,
``audio-chunk`` events and ``audio-stop``. Audio of any rate, sample width and channel count is
converted to 16 kHz mono int16 at the edge, runs through exactly the runtime's streaming
``Detector``, and each detection goes back as ``detection`` with its time in the client's audio
timeline (ms); a stream in which nothing fired ends with ``not-detected``.

Unlike the satellite, this service receives audio that was not gated by us: whoever streams it
already has it. It keeps nothing: no audio or score is stored or logged. Wyoming has no
authentication or encryption, so it listens on localhost unless told otherwise (with a warning).

**Threads and state.** The ONNX sessions are loaded once per service and shared: onnxruntime's
``run`` is thread-safe. Streaming state (features, model state, smoothing, refractory period) is
per connection, so concurrent clients never see each other's audio. The detector runs on the
loop's default thread pool, one chunk at a time per connection, so a slow model never stalls the
other connections' events.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import signal
from collections.abc import Iterable

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.wake import Detect, NotDetected
from wyoming.wake import Detection as WakeDetection

from .audio_in import TARGET_RATE, Converter
from .detector import Detection, Detector, DetectorSettings
from .errors import AudioError
from .model import StreamingModel, load_model
from .wyoming_satellite import (BackgroundLoop, BoundedEventHandler, WyomingError, bound_uri, start_server,
                                wake_program, warn_if_exposed)

log = logging.getLogger("wakegate")

DEFAULT_WAKE_URI = "tcp://127.0.0.1:10400"
BLOCK_SAMPLES = 320  # 20 ms: small enough that a detection is not held back waiting for a full block
MAX_CHANNELS = 64  # more is not audio we can use (and a frame split across chunks is buffered until whole)


# -- audio at the edge ---------------------------------------------------------------------------


def pcm_to_samples(pcm: bytes, width: int, channels: int) -> np.ndarray:
    """Interleaved little-endian PCM → int16/int32 samples, (frames, channels) when there are several.

    ``pcm`` must hold whole frames. 8-bit PCM is unsigned (WAV convention); 24-bit is widened to int32.
    """
    if width == 2:
        samples = np.frombuffer(pcm, dtype="<i2")
    elif width == 4:
        samples = np.frombuffer(pcm, dtype="<i4")
    elif width == 1:
        samples = (np.frombuffer(pcm, dtype=np.uint8).astype(np.int16) - 128) << 8
    elif width == 3:
        b = np.frombuffer(pcm, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
        samples = ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)).view(np.int32)
    else:
        raise AudioError(f"unsupported sample width {width} bytes (need 1 to 4)")
    return samples.reshape(-1, channels) if channels > 1 else samples


def _independent_stream(model: StreamingModel) -> StreamingModel:
    """The same loaded model with its own streaming state: shares the ONNX session, copies nothing else.

    ``reset()`` gives the copy a fresh state dict of its own; ``step()`` only ever rebinds entries of
    that dict, so the original and every copy stream independently (about 0.1 ms, against several ms
    to tens of ms for loading a session).
    """
    stream = copy.copy(model)
    stream.reset()
    return stream


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def audio_chunk(event: Event) -> AudioChunk:
    """An ``audio-chunk`` from a peer, checked: whole-number rate, width (1 to 4) and channels; bytes of audio."""
    rate, width, channels = (event.data.get(key) for key in ("rate", "width", "channels"))
    if not (_whole(rate) and _whole(width) and _whole(channels)):
        raise AudioError(f"{event.type}: rate, width and channels must be whole numbers")
    if width not in (1, 2, 3, 4) or not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"unsupported audio: {width}-byte samples, {channels} channel(s)")
    return AudioChunk(rate=rate, width=width, channels=channels, audio=event.payload or b"", timestamp=_timestamp(event))


def _timestamp(event: Event) -> int | None:
    """The event's timestamp in ms if it is a whole number; anything else counts as none."""
    value = event.data.get("timestamp")
    return value if _whole(value) else None


def _names(event: Event) -> list[str] | None:
    names = event.data.get("names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise WyomingError("bad Wyoming event: detect names must be a list of strings")
    return names


def _normalise(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


# -- one audio stream (pure: no I/O) -------------------------------------------------------------


class WakeStream:
    """One stream from ``audio-start`` to ``audio-stop``: converts, detects, remembers whether anything fired.

    Not thread-safe; one connection feeds it one chunk at a time.
    """

    def __init__(self, detector: Detector, wanted: set[str] | None, start_ms: int | None):
        detector.reset()
        self.detector = detector
        self.wanted = wanted  # wake words the client asked for; None = all
        self.start_ms = start_ms  # client timestamp of the first sample; set by the first chunk if unknown
        self.fired = False
        self._converter: Converter | None = None
        self._format: tuple[int, int, int] | None = None
        self._leftover = b""  # a frame split across chunks (unusual, but the protocol allows it)

    def feed(self, chunk: AudioChunk) -> list[Detection]:
        if self.start_ms is None:
            self.start_ms = chunk.timestamp or 0
        detections = []
        if (chunk.rate, chunk.width, chunk.channels) != self._format:
            if chunk.width not in (1, 2, 3, 4) or not 1 <= chunk.channels <= MAX_CHANNELS:
                raise AudioError(f"unsupported audio: {chunk.width}-byte samples, {chunk.channels} channel(s)")
            detections += self._flush()  # a new format mid-stream: finish the old one, then convert anew
            self._converter = Converter(chunk.rate, chunk.channels, None, BLOCK_SAMPLES)
            self._format = (chunk.rate, chunk.width, chunk.channels)
        frame_bytes = chunk.width * chunk.channels
        pcm = self._leftover + chunk.audio
        usable = len(pcm) - len(pcm) % frame_bytes
        self._leftover = pcm[usable:]
        samples = pcm_to_samples(pcm[:usable], chunk.width, chunk.channels)
        return detections + self._detect(self._converter.push(samples))

    def finish(self) -> list[Detection]:
        """End of stream: the resampler's tail and the last partial block still count."""
        return self._flush()

    def _flush(self) -> list[Detection]:
        if self._converter is None:
            return []
        width, channels = self._format[1], self._format[2]
        tail = self._converter.push(pcm_to_samples(b"", width, channels), last=True)
        self._converter, self._format, self._leftover = None, None, b""
        return self._detect(tail)

    def _detect(self, blocks: Iterable[np.ndarray]) -> list[Detection]:
        found = []
        for block in blocks:
            detections, _ = self.detector.process(block)
            found += [d for d in detections if self.wanted is None or _normalise(d.wake_word) in self.wanted]
        self.fired = self.fired or bool(found)
        return found

    def timestamp_ms(self, detection: Detection) -> int:
        return (self.start_ms or 0) + int(detection.sample_index * 1000 // TARGET_RATE)


# -- one connection ------------------------------------------------------------------------------


class _WakeHandler(BoundedEventHandler):
    """Answers one client's events; its detector (and so its streaming state) is its own."""

    def __init__(self, service: "WyomingWakeService", reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        super().__init__(reader, writer)
        self.service = service
        self.detector = service.new_detector()
        self.wanted: set[str] | None = None
        self.stream: WakeStream | None = None

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(self.service.info().event())
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
        elif Detect.is_type(event.type):
            self.wanted = self._wanted(_names(event))
        elif AudioStart.is_type(event.type):
            self.stream = WakeStream(self.detector, self.wanted, _timestamp(event))
        elif AudioChunk.is_type(event.type):
            if self.stream is None:  # audio without audio-start: start the stream at its first chunk
                self.stream = WakeStream(self.detector, self.wanted, None)
            stream = self.stream
            await self._send(stream, await self._in_worker(stream.feed, audio_chunk(event)))
        elif AudioStop.is_type(event.type):
            await self._end_stream()
        else:
            log.debug("wyoming wake: ignoring %s", event.type)
        return True

    def _wanted(self, names: list[str] | None) -> set[str] | None:
        if not names:
            return None
        wanted = {_normalise(n) for n in names}
        ours = {_normalise(m.wake_word) for m in self.service.models}
        if not wanted & ours:
            log.warning("wyoming wake: client asked for %s; this service has %s", ", ".join(names), ", ".join(sorted(ours)))
        return wanted

    async def _end_stream(self) -> None:
        stream, self.stream, self.wanted = self.stream, None, None
        if stream is None:
            await self.write_event(NotDetected().event())
            return
        await self._send(stream, await self._in_worker(stream.finish))
        if not stream.fired:
            await self.write_event(NotDetected().event())

    async def _send(self, stream: WakeStream, detections: list[Detection]) -> None:
        for detection in detections:
            log.info("wyoming wake: detected %s (score %.2f)", detection.wake_word, detection.score)
            await self.write_event(WakeDetection(name=detection.wake_word, timestamp=stream.timestamp_ms(detection)).event())

    async def _in_worker(self, function, *args):
        """Run detector work off the event loop, so other connections keep being served."""
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)


# -- the service ---------------------------------------------------------------------------------


class WyomingWakeService:
    """Serves wake-word detection over Wyoming to any number of clients at once.

    ``run()`` serves on the current asyncio loop until cancelled; ``start()``/``close()`` do the same on
    a background thread for synchronous callers. Models load in ``__init__``, so a bad model or
    setting fails before anything listens.
    """

    def __init__(self, uri: str = DEFAULT_WAKE_URI, model_names: list[str] | tuple[str, ...] = ("alexa",),
                 settings: DetectorSettings = DetectorSettings(), threads: int = 1,
                 allow_unsigned: bool = False, trusted_keys: tuple[str, ...] = ()):
        self.uri = uri
        self.settings = settings
        self._loaded = [load_model(name, threads, allow_unsigned, trusted_keys) for name in model_names]
        Detector(self._loaded, settings)  # the same checks a real stream's detector makes, now
        self.models = [m.info for m in self._loaded]
        self._server: asyncio.Server | None = None
        self._background: BackgroundLoop | None = None
        self._handlers: set[_WakeHandler] = set()  # touched only on the loop's thread
        self._all_gone = asyncio.Event()

    def new_detector(self) -> Detector:
        """A detector over the shared sessions with streaming state of its own."""
        return Detector([_independent_stream(m) for m in self._loaded], self.settings)

    def info(self) -> Info:
        return Info(wake=[wake_program(self.models, "wakegate wake-word detection")])

    async def open(self) -> None:
        """Start listening (raises WyomingError if the address cannot be listened on)."""
        warn_if_exposed(self.uri, "the Wyoming wake-word service")
        self._server = await start_server(self.uri, self._on_connect)
        self.uri = bound_uri(self.uri, self._server)
        names = ", ".join(f"{m.wake_word} {m.version}" for m in self.models)
        log.info("wyoming wake: serving %s on %s", names, self.uri)

    async def run(self) -> None:
        """Listen and serve until cancelled."""
        await self.open()
        try:
            await self._server.serve_forever()
        finally:
            await self.aclose()

    async def aclose(self, timeout_s: float = 2.0) -> None:
        """Stop listening, then end every connection the way a client hanging up would."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._handlers:
            # Closing ends each handler's read loop normally; cancelling it instead makes asyncio's
            # stream callback log an error for every connection.
            self._all_gone.clear()
            for handler in list(self._handlers):
                await handler.stop()
            try:
                await asyncio.wait_for(self._all_gone.wait(), timeout_s)
            except asyncio.TimeoutError:
                log.warning("wyoming wake: %d connection(s) did not close in time", len(self._handlers))

    def start(self) -> "WyomingWakeService":
        background = BackgroundLoop("wakegate-wyoming-wake")
        try:
            background.run(self.open(), timeout_s=10.0)
        except BaseException:
            background.stop()
            raise
        self._background = background
        return self

    def close(self) -> None:
        background, self._background = self._background, None
        if background is not None:
            background.run(self.aclose(), timeout_s=5.0)
            background.stop()

    def __enter__(self) -> "WyomingWakeService":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = _WakeHandler(self, reader, writer)
        self._handlers.add(handler)
        try:
            await handler.run()
        except (ConnectionError, OSError) as exc:
            log.info("wyoming wake: a client connection was lost: %s", exc)
        except (AudioError, WyomingError) as exc:  # audio we cannot read, or a broken event: it gets disconnected
            log.warning("wyoming wake: dropped a client: %s", exc)
        finally:
            self._handlers.discard(handler)
            if not self._handlers:
                self._all_gone.set()


# -- command line ----------------------------------------------------------------------------------


def serve(settings, uri: str = DEFAULT_WAKE_URI) -> int:
    """``wakegate wyoming-wake``: serve the configured models until interrupted (Ctrl-C, SIGTERM)."""
    m = settings.models
    service = WyomingWakeService(uri, list(m.models), settings.detector, m.threads, m.allow_unsigned, m.trusted_keys)
    asyncio.run(_serve_until_terminated(service))
    return 0


async def _serve_until_terminated(service: WyomingWakeService) -> None:
    """SIGTERM (systemd's stop) ends the service cleanly; Ctrl-C still raises KeyboardInterrupt to the CLI."""
    serving = asyncio.current_task()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers off the main thread
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, serving.cancel)
    try:
        await service.run()
    except asyncio.CancelledError:
        log.info("wyoming wake: stopped")
