"""A Wyoming satellite with a local wake word: the sink that forwards clips to Home Assistant.

Home Assistant connects to us (we are the TCP server, ``tcp://127.0.0.1:10700`` by default), asks
``describe``, pings every few seconds and sends ``run-satellite`` when it is ready for a voice
command. When the gate releases a clip we send, in order: ``detection`` (the wake word),
``run-pipeline`` (speech-to-text onwards; the wake word was already heard here), ``audio-start``,
the clip as ``audio-chunk`` events and ``audio-stop``. Nothing else ever leaves: there is no
always-on stream, only clips, and only while a peer is connected and has not paused us.

**Security.** Wyoming has no encryption and no authentication: anyone who can reach the port can
take over as the peer and receive the clips. So we bind to localhost by default and log a warning
when told to bind anywhere else; expose it only on a network you trust (or tunnel it).

**Pre-roll.** ``preroll="none"`` (the default) sends only the audio after the detection, because
Home Assistant's speech-to-text would otherwise transcribe the wake word as part of the command
(the reference wyoming-satellite does the same); ``"full"`` sends the whole clip.

**Threads.** The server runs an asyncio loop on its own thread. ``submit()`` may be called from
any thread and returns at once; ``on_result(clip, delivered, reason)`` is called on the server's
thread once per submitted clip (or on the caller's thread if the server is not running), and must
not block. This module also holds the small transport helpers that ``wyoming_wake`` shares.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import json
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, Satellite, WakeModel, WakeProgram
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.server import AsyncEventHandler
from wyoming.wake import Detection as WakeDetection

from . import __version__
from .errors import ConfigError, WakegateError
from .gate import Clip

log = logging.getLogger("wakegate")

DEFAULT_SATELLITE_URI = "tcp://127.0.0.1:10700"
PREROLL_POLICIES = ("none", "full")
CHUNK_SAMPLES = 1024  # 64 ms at 16 kHz, the chunk size Wyoming programs commonly use
SEND_TIMEOUT_S = 10.0  # a peer that stops reading must not hold clips (or close()) for ever
ATTRIBUTION = Attribution(name="wakegate", url="https://github.com/wakegate/wakegate")


class WyomingError(WakegateError):
    """A Wyoming server cannot start (bad URI, port in use, no permission), or a peer broke the protocol."""


# -- reading events from a peer we do not trust ----------------------------------------------------
#
# The wyoming library's reader trusts the peer: it reads whatever ``data_length``/``payload_length``
# a header declares (a hostile peer can make us buffer gigabytes), waits for ever for the rest of an
# event, and fails with AttributeError/TypeError/KeyError on a header that is not an object of the
# expected shape. Ours bounds all three; the StreamReader's own limit (64 KiB) bounds the header line.

MAX_EVENT_DATA = 1 << 20  # bytes of JSON data after the header line
MAX_EVENT_PAYLOAD = 4 << 20  # bytes of payload (an audio chunk is a few KiB; 4 MiB is a second of 8-channel 32-bit 128 kHz)
EVENT_BODY_TIMEOUT_S = 30.0  # once a header arrived, the rest of its event must follow within this


def _declared_length(header: dict, key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise WyomingError(f"bad Wyoming event: {key} must be a whole number of bytes")
    if value > limit:
        raise WyomingError(f"bad Wyoming event: {key} {value} is over the limit of {limit} bytes")
    return value


async def read_event(reader: asyncio.StreamReader, body_timeout_s: float | None = None) -> Event | None:
    """The next event from an untrusted peer; None when it hung up; WyomingError when it broke the protocol."""
    body_timeout_s = EVENT_BODY_TIMEOUT_S if body_timeout_s is None else body_timeout_s
    try:
        line = await reader.readline()
    except ValueError:  # the header line is longer than the reader's limit
        raise WyomingError("bad Wyoming event: header line too long") from None
    if not line:
        return None
    if not line.endswith(b"\n"):
        return None  # the peer hung up mid-header
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):
        raise WyomingError("bad Wyoming event: header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise WyomingError("bad Wyoming event: header is not an object with a type")
    data = header.get("data")
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise WyomingError("bad Wyoming event: data is not an object")
    data_length = _declared_length(header, "data_length", MAX_EVENT_DATA)
    payload_length = _declared_length(header, "payload_length", MAX_EVENT_PAYLOAD)
    try:
        body = await asyncio.wait_for(reader.readexactly(data_length + payload_length), body_timeout_s)
    except asyncio.IncompleteReadError:
        return None  # the peer hung up mid-event
    except asyncio.TimeoutError:
        raise WyomingError(f"bad Wyoming event: its data did not arrive within {body_timeout_s:g} s") from None
    if data_length:
        try:
            extra = json.loads(body[:data_length])
        except (ValueError, RecursionError):
            raise WyomingError("bad Wyoming event: data is not JSON") from None
        if not isinstance(extra, dict):
            raise WyomingError("bad Wyoming event: data is not an object")
        data = {**data, **extra}
    return Event(type=header["type"], data=data, payload=body[data_length:] if payload_length else None)


class BoundedEventHandler(AsyncEventHandler):
    """``AsyncEventHandler`` reading with ``read_event`` above; a protocol violation raises WyomingError."""

    async def run(self) -> None:
        self._is_running = True
        try:
            while self._is_running:
                event = await read_event(self.reader)
                if event is None or not await self.handle_event(event):
                    break
        finally:
            await self.disconnect()
            self.writer.close()


class WakeModelLike(Protocol):
    wake_word: str
    version: str


ResultCallback = Callable[[Clip, bool, str], None]


# -- meaning: what we say ------------------------------------------------------------------------


def wake_program(models: Sequence[WakeModelLike], description: str) -> WakeProgram:
    """Our wake-word models as Wyoming describes them; Home Assistant shows ``phrase`` to the user."""
    return WakeProgram(
        name="wakegate",
        attribution=ATTRIBUTION,
        installed=True,
        description=description,
        version=__version__,
        models=[
            WakeModel(
                name=m.wake_word,
                attribution=Attribution(name="wakegate", url=ATTRIBUTION.url),
                installed=True,
                description=f"{m.wake_word} {m.version}",
                version=m.version,
                languages=["en"],
                phrase=m.wake_word.replace("_", " "),
            )
            for m in models
        ],
    )


def satellite_info(name: str, models: Sequence[WakeModelLike]) -> Info:
    """The ``info`` answer: a satellite that hears its own wake word and has no VAD or speaker of its own.

    No ``snd`` program: we play nothing, so Home Assistant should not expect ``played`` events.
    """
    return Info(
        satellite=Satellite(
            name=name,
            attribution=ATTRIBUTION,
            installed=True,
            description="wakegate: privacy-first wake-word gate (sends clips only after the wake word)",
            version=__version__,
            area=None,
            has_vad=False,  # the clip ends by our gate's VAD, but HA's own VAD decides when speech is over
            active_wake_words=[m.wake_word for m in models],
            max_active_wake_words=len(models),
            supports_trigger=False,
        ),
        wake=[wake_program(models, "wakegate wake-word models (detected on the device)")],
    )


def audio_to_send(clip: Clip, preroll: str) -> tuple[np.ndarray, int]:
    """The samples of a clip that may leave under the pre-roll policy, and the stream index of the first."""
    if preroll == "full":
        return clip.audio, clip.start_index
    return clip.audio[clip.preroll_samples :], clip.start_index + clip.preroll_samples


def _ms(sample_index: int, rate: int) -> int:
    return int(sample_index * 1000 // rate)


def clip_events(clip: Clip, preroll: str, end_stage: PipelineStage) -> list[Event]:
    """Everything one clip becomes on the wire, in order. Timestamps are audio time in ms."""
    rate = clip.sample_rate
    audio, first_index = audio_to_send(clip, preroll)
    fmt = {"rate": rate, "width": 2, "channels": 1}
    events = [
        WakeDetection(name=clip.detection.wake_word, timestamp=_ms(clip.detection.sample_index, rate)).event(),
        RunPipeline(
            start_stage=PipelineStage.ASR,  # the wake word was heard here; HA starts at speech-to-text
            end_stage=end_stage,
            wake_word_name=clip.detection.wake_word,
            restart_on_end=False,  # one clip, one pipeline run; the next run waits for the next wake word
        ).event(),
        AudioStart(**fmt, timestamp=_ms(first_index, rate)).event(),
    ]
    pcm = np.ascontiguousarray(audio, dtype="<i2")
    for offset in range(0, len(pcm), CHUNK_SAMPLES):
        piece = pcm[offset : offset + CHUNK_SAMPLES]
        events.append(AudioChunk(**fmt, audio=piece.tobytes(), timestamp=_ms(first_index + offset, rate)).event())
    events.append(AudioStop(timestamp=_ms(first_index + len(pcm), rate)).event())
    return events


# -- transport: shared with wyoming_wake ---------------------------------------------------------


def warn_if_exposed(uri: str, what: str) -> None:
    """Wyoming has no authentication: say so loudly when a server is reachable from other machines."""
    parsed = urlparse(uri)
    if parsed.scheme != "tcp":
        return
    host = parsed.hostname or ""
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        log.warning(
            "%s listens on %s: Wyoming has no encryption or authentication, so anyone who can reach it "
            "can connect; bind to 127.0.0.1 unless this network is trusted", what, uri
        )


async def start_server(uri: str, on_connect: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine]) -> asyncio.Server:
    """Listen on ``tcp://HOST:PORT`` (port 0 picks a free one) or ``unix://PATH``; errors become WyomingError."""
    parsed = urlparse(uri)
    try:
        if parsed.scheme == "tcp":
            if parsed.hostname is None or parsed.port is None:
                raise WyomingError(f"{uri}: a tcp:// address needs a host and a port, e.g. tcp://127.0.0.1:10700")
            return await asyncio.start_server(on_connect, host=parsed.hostname, port=parsed.port)
        if parsed.scheme == "unix" and parsed.path:
            return await asyncio.start_unix_server(on_connect, path=parsed.path)
    except OSError as exc:
        raise WyomingError(f"cannot listen on {uri}: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. a port out of range
        raise WyomingError(f"{uri}: {exc}") from None
    raise WyomingError(f"{uri}: only tcp://HOST:PORT and unix://PATH addresses are supported")


def bound_uri(uri: str, server: asyncio.Server) -> str:
    """The address actually listened on (a tcp port 0 becomes the port the system chose)."""
    parsed = urlparse(uri)
    if parsed.scheme != "tcp" or not server.sockets:
        return uri
    host, port = server.sockets[0].getsockname()[:2]
    return f"tcp://{host}:{port}" if ":" not in host else f"tcp://[{host}]:{port}"


class BackgroundLoop:
    """An asyncio loop on its own daemon thread, for servers that synchronous code starts and stops."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine, timeout_s: float | None = None) -> Any:
        """Run a coroutine on the loop and wait for its result here (never call this from the loop)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def call_soon(self, callback: Callable, *args) -> None:
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout_s: float = 5.0) -> None:
        """End every task still running (connections included) and the loop's thread pool, then the loop."""
        if self.loop.is_closed():
            return
        try:
            self.run(self._finish_tasks(), timeout_s)
        except concurrent.futures.TimeoutError:
            log.warning("%s: some tasks did not finish in time", self._thread.name)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.loop.close()

    @staticmethod
    async def _finish_tasks() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_default_executor()


# -- the satellite -------------------------------------------------------------------------------


class _Peer:
    """One connected Home Assistant. A clip's events go out back to back: a pong waits for the clip (milliseconds)."""

    def __init__(self, handler: "_PeerHandler", address: str):
        self.handler = handler
        self.address = address
        self.running = False  # set by run-satellite, cleared by pause-satellite
        self._write_lock = asyncio.Lock()

    async def send(self, events: list[Event]) -> None:
        async with self._write_lock:
            for event in events:
                await self.handler.write_event(event)


class _PeerHandler(BoundedEventHandler):
    """Reads events from one connection and answers them; owns nothing but its connection."""

    def __init__(self, satellite: "WyomingSatellite", reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        super().__init__(reader, writer)
        self.satellite = satellite
        self.peer = _Peer(self, _peer_name(writer))

    async def handle_event(self, event: Event) -> bool:
        peer = self.peer
        if Describe.is_type(event.type):
            await peer.send([self.satellite.info().event()])
        elif Ping.is_type(event.type):
            await peer.send([Pong(text=Ping.from_event(event).text).event()])
        elif RunSatellite.is_type(event.type):
            peer.running = True
            log.info("wyoming: %s is ready for voice commands (run-satellite)", peer.address)
        elif PauseSatellite.is_type(event.type):
            peer.running = False
            log.info("wyoming: %s paused the satellite; clips will not be sent", peer.address)
        else:  # transcripts, TTS audio, errors, timers: nothing here acts on them
            log.debug("wyoming: ignoring %s from %s", event.type, peer.address)
        return True

    async def disconnect(self) -> None:
        self.satellite._peer_left(self.peer)


def _peer_name(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return "a local peer"


class WyomingSatellite:
    """Forwards clips to Home Assistant over Wyoming, one peer at a time (a new one replaces the old).

    Thread-safe: ``submit()`` from the audio loop's side never blocks; everything else about the
    connection lives on the server's own thread. See the module docstring for what is sent.
    """

    def __init__(
        self,
        uri: str = DEFAULT_SATELLITE_URI,
        models: Sequence[WakeModelLike] = (),
        preroll: str = "none",
        name: str = "wakegate",
        on_result: ResultCallback | None = None,
        end_stage: str = "handle",
    ):
        if preroll not in PREROLL_POLICIES:
            raise ConfigError(f"wyoming preroll must be one of {', '.join(PREROLL_POLICIES)}, not {preroll!r}")
        try:
            # HANDLE: we have no speaker, so HA should not synthesise a spoken answer for us (as
            # wyoming-satellite does without a sound device); "tts" for a device that plays it.
            self.end_stage = PipelineStage(end_stage)
            RunPipeline(start_stage=PipelineStage.ASR, end_stage=self.end_stage)
        except ValueError:
            raise ConfigError(f"wyoming end_stage must be one of asr, intent, handle, tts, not {end_stage!r}") from None
        if not models:
            raise ConfigError("the Wyoming satellite needs at least one wake-word model to announce")
        self.uri = uri
        self.models = list(models)
        self.preroll = preroll
        self.name = name
        self._on_result = on_result
        self._background: BackgroundLoop | None = None
        self._server: asyncio.Server | None = None
        self._clips: asyncio.Queue[tuple[Clip, ResultCallback | None] | None] | None = None
        self._sender: asyncio.Task | None = None
        self._peer: _Peer | None = None
        self._lock = threading.Lock()  # guards the running/closed switch between callers' threads

    # -- the caller's side (any thread) ---------------------------------------------------------

    def start(self) -> "WyomingSatellite":
        """Listen for Home Assistant; raises WyomingError if the address cannot be listened on."""
        warn_if_exposed(self.uri, "the Wyoming satellite")
        background = BackgroundLoop("wakegate-wyoming-satellite")
        try:
            background.run(self._open(), timeout_s=10.0)
        except BaseException:
            background.stop()
            raise
        with self._lock:
            self._background = background
        log.info("wyoming: satellite %r listening on %s", self.name, self.uri)
        return self

    def submit(self, clip: Clip, on_result: ResultCallback | None = None) -> None:
        """Queue a clip for Home Assistant and return at once.

        Its fate arrives through ``on_result`` if given here (handy to carry the caller's clip id),
        else through the one given to the constructor.
        """
        with self._lock:
            if self._background is not None:
                self._background.call_soon(self._clips.put_nowait, (clip, on_result))
                return
        self._report(clip, on_result, False, "the Wyoming satellite is not running")

    def close(self) -> None:
        """Send the clips already submitted (if a peer is there to take them), then stop listening."""
        with self._lock:
            background, self._background = self._background, None
        if background is None:
            return
        try:
            background.run(self._shutdown(), timeout_s=SEND_TIMEOUT_S + 5.0)
        except concurrent.futures.TimeoutError:
            log.warning("wyoming: the satellite did not stop cleanly in time")
        finally:
            background.stop()

    def __enter__(self) -> "WyomingSatellite":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def info(self) -> Info:
        return satellite_info(self.name, self.models)

    @property
    def connected(self) -> bool:
        return self._peer is not None

    # -- the server's thread ----------------------------------------------------------------------

    async def _open(self) -> None:
        self._clips = asyncio.Queue()
        self._server = await start_server(self.uri, self._on_connect)
        self.uri = bound_uri(self.uri, self._server)
        self._sender = asyncio.create_task(self._send_clips(), name="wakegate-wyoming-sender")

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = _PeerHandler(self, reader, writer)
        previous, self._peer = self._peer, handler.peer
        if previous is not None:
            log.info("wyoming: %s replaces %s as the peer", handler.peer.address, previous.address)
            await previous.handler.stop()
        log.info("wyoming: %s connected", handler.peer.address)
        try:
            await handler.run()
        except (ConnectionError, OSError) as exc:  # the peer vanished mid-event; the next one may connect
            log.info("wyoming: connection to %s lost: %s", handler.peer.address, exc)
        except WyomingError as exc:  # it broke the protocol; it has been disconnected
            log.warning("wyoming: dropped %s: %s", handler.peer.address, exc)

    def _peer_left(self, peer: _Peer) -> None:
        if self._peer is peer:
            self._peer = None
            log.info("wyoming: %s disconnected", peer.address)

    async def _send_clips(self) -> None:
        """The one consumer of submitted clips: each goes to the peer of the moment, then is reported."""
        while (item := await self._clips.get()) is not None:
            clip, on_result = item
            try:
                delivered, reason = await self._send_clip(clip)
            except asyncio.CancelledError:  # close() gave up waiting: this clip's fate is still owed
                self._report(clip, on_result, False, "the Wyoming satellite was closed while sending the clip")
                raise
            self._report(clip, on_result, delivered, reason)

    async def _send_clip(self, clip: Clip) -> tuple[bool, str]:
        peer = self._peer
        if peer is None:
            return False, "no Home Assistant connected to the Wyoming satellite"
        if not peer.running:
            return False, f"Home Assistant ({peer.address}) has paused the satellite"
        try:
            await asyncio.wait_for(peer.send(clip_events(clip, self.preroll, self.end_stage)), SEND_TIMEOUT_S)
        except asyncio.TimeoutError:
            # A half-sent clip leaves the stream unusable, and a peer that stopped reading would never
            # take the rest: forget it now and abort (not close: that would wait to flush) its connection.
            self._peer_left(peer)
            peer.handler.writer.transport.abort()
            return False, f"Home Assistant ({peer.address}) stopped reading; connection dropped"
        except (ConnectionError, OSError) as exc:
            return False, f"connection to Home Assistant ({peer.address}) lost: {exc}"
        return True, f"sent to Home Assistant ({peer.address})"

    def _report(self, clip: Clip, on_result: ResultCallback | None, delivered: bool, reason: str) -> None:
        if not delivered:
            log.info("wyoming: clip not sent: %s", reason)
        on_result = on_result or self._on_result
        if on_result is None:
            return
        try:
            on_result(clip, delivered, reason)
        except Exception:  # the caller's bookkeeping must not stop delivery of later clips
            log.exception("wyoming: on_result callback failed")

    async def _shutdown(self) -> None:
        self._clips.put_nowait(None)
        try:
            await asyncio.wait_for(self._sender, SEND_TIMEOUT_S)
        except asyncio.TimeoutError:
            pass
        while not self._clips.empty():  # only if a send timed out above
            if (item := self._clips.get_nowait()) is not None:
                self._report(*item, False, "the Wyoming satellite was closed before the clip could be sent")
        self._server.close()
        if self._peer is not None:
            await self._peer.handler.stop()
        await self._server.wait_closed()
