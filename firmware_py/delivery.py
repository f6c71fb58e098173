"""Forwarding clips over HTTP(S), at least once, through restarts and ``kill -9``.

The outbox is the queue: when a clip is captured, each HTTP sink gets its own sealed copy in
``<data_dir>/outbox/<sink>/<clip id>.clip`` (written atomically, with that sink's pre-roll policy
applied). A delivery thread per sink sends the oldest first and deletes the copy only after the
receiver said yes, so a crash at any moment means at worst one more send of the same clip, which
the receiver recognises by its ``Idempotency-Key`` (the clip id). The audio loop never waits for it.

What is sealed to what:
- ``webhook``: the body is the clip sealed to the owner's key, exactly as stored; the receiver needs
  the owner's private key to hear it. Metadata travels in ``X-Wakegate-*`` headers.
- ``ha-stt`` (Home Assistant speech-to-text): Home Assistant must hear the audio, so the body is a
  plain WAV (sent over TLS). Its pending copy is sealed to a device key (``device.key``, 0600) so no
  plaintext touches the disk; that key opens only copies not yet delivered, which are deleted after.
"""

from __future__ import annotations

import functools
import heapq
import http.client
import itertools
import logging
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .gate import Clip
from .sealing import OwnerPublicKey, generate_keys, load_private_key, open_sealed, read_header, seal
from .spool import CLIP_SUFFIX, ensure_private_dir, wav_bytes, write_atomically

log = logging.getLogger("wakegate")

OUTBOX = "outbox"
DEVICE_KEY = "device.key"
DEVICE_PUBLIC_KEY = "device.pub"
SINK_TYPES = ("webhook", "ha-stt", "wyoming")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class SinkSettings:
    """One ``[[sinks]]`` table of the config."""

    name: str = ""
    type: str = ""  # webhook | ha-stt | wyoming
    url: str = ""  # webhook: the endpoint; ha-stt: Home Assistant's base URL
    entity: str = ""  # ha-stt: the speech-to-text entity, e.g. stt.faster_whisper
    token: str = ""  # bearer token
    ca_file: str = ""  # extra CA certificates to trust (TLS verification stays on)
    allow_insecure_http: bool = False  # plain http:// to a host other than this one
    preroll: str = ""  # "full" or "none"; "" = none for ha-stt and wyoming, full for webhook
    language: str = "en-US"  # ha-stt
    uri: str = "tcp://127.0.0.1:10700"  # wyoming: where Home Assistant connects
    timeout_s: float = 10.0
    max_pending: int = 200

    def __post_init__(self):
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"sinks: each sink needs a name of letters, digits, '-' or '_' (got {self.name!r})")
        if self.type not in SINK_TYPES:
            raise ConfigError(f"sinks.{self.name}: type must be one of {', '.join(SINK_TYPES)}")
        if self.preroll not in ("", "full", "none"):
            raise ConfigError(f"sinks.{self.name}: preroll must be 'full' or 'none'")
        if self.type == "ha-stt" and not self.entity:
            raise ConfigError(f"sinks.{self.name}: ha-stt needs entity (e.g. stt.faster_whisper)")
        if self.type in ("webhook", "ha-stt"):
            check_url(self.name, self.url, self.allow_insecure_http)
        if not 0 < self.timeout_s <= 3600:
            raise ConfigError(f"sinks.{self.name}: timeout_s must be more than 0 and at most 3600 seconds")
        if self.max_pending < 1:
            raise ConfigError(f"sinks.{self.name}: max_pending must be at least 1")

    @property
    def keeps_preroll(self) -> bool:
        return self.preroll == "full" or (self.preroll == "" and self.type == "webhook")


def check_url(name: str, url: str, allow_insecure_http: bool) -> None:
    try:
        parts = urllib.parse.urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed [IPv6 literal
        hostname = None
    if hostname is None or parts.scheme not in ("https", "http"):
        raise ConfigError(f"sinks.{name}: url must be an http(s):// URL (got {url!r})")
    if parts.scheme == "http" and hostname not in _LOOPBACK and not allow_insecure_http:
        raise ConfigError(f"sinks.{name}: plain http:// to {hostname if hostname.isprintable() else repr(hostname)} would send clips unencrypted; "
                          f"use https:// or set allow_insecure_http = true")


def device_key(data_dir: Path) -> OwnerPublicKey:
    """The device's own key pair for pending plaintext deliveries (made on first use)."""
    private, public = data_dir / DEVICE_KEY, data_dir / DEVICE_PUBLIC_KEY
    if not private.exists():
        generate_keys(private, public)
    return OwnerPublicKey.load(public)


class Outbox:
    """Pending copies of clips for one sink, oldest first."""

    def __init__(self, data_dir: Path, sink: SinkSettings, seal_to: OwnerPublicKey):
        self.sink = sink
        self.dir = data_dir / OUTBOX / sink.name
        self._seal_to = seal_to
        self._data_dir = data_dir

    def put(self, clip: Clip, stored_meta: dict, audit) -> None:
        """Queue a sealed copy of ``clip`` (whose spool record is ``stored_meta``) for this sink."""
        audio, preroll = (clip.audio, clip.preroll_samples) if self.sink.keeps_preroll else (clip.audio[clip.preroll_samples:], 0)
        meta = {k: v for k, v in stored_meta.items() if k not in ("suite", "key_id")}
        meta.update(duration_s=round(len(audio) / clip.sample_rate, 2), preroll_s=round(preroll / clip.sample_rate, 2))
        clip_id = meta["id"]
        ensure_private_dir(self.dir)
        pending = self.pending()
        while len(pending) >= self.sink.max_pending:
            oldest = pending.pop(0)
            oldest.unlink(missing_ok=True)
            audit.append("dropped", oldest.stem, sink=self.sink.name, reason="outbox full")
        newest = max((_mtime_ns(p) for p in pending[-1:]), default=0)
        # Sent oldest first by mtime: never before a clip queued earlier, even if the wall clock jumped back.
        write_atomically(self.dir / f"{clip_id}{CLIP_SUFFIX}", seal(wav_bytes(audio, clip.sample_rate), meta, self._seal_to),
                         mtime_ns=max(time.time_ns(), newest + 1))

    def pending(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return [path for mtime, path in sorted((_mtime_ns(p), p) for p in self.dir.glob(f"*{CLIP_SUFFIX}")) if mtime >= 0]


def _mtime_ns(path: Path) -> int:
    """-1 for a copy that went meanwhile (delivered by the other thread)."""
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1


class DeliveryError(Exception):
    def __init__(self, message: str, retry: bool):
        super().__init__(message)
        self.retry = retry


@functools.lru_cache(maxsize=16)
def _ssl_context(ca_file: str) -> ssl.SSLContext:
    """One TLS context per CA file for the life of the process. Making one per send parsed the system's
    CA certificates every time (tens of ms on a Pi) and grew resident memory with every clip sent."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def build_request(sink: SinkSettings, sealed: bytes, data_dir: Path) -> urllib.request.Request:
    meta, _, _ = read_header(sealed)
    headers = {"Idempotency-Key": meta["id"], "User-Agent": "wakegate"}
    if sink.token:
        headers["Authorization"] = f"Bearer {sink.token}"
    if sink.type == "webhook":
        headers["Content-Type"] = "application/vnd.wakegate.sealed-clip"
        for key in ("id", "time", "wake_word", "score", "duration_s", "model_version"):
            headers[f"X-Wakegate-{key.replace('_', '-').title()}"] = str(meta[key])
        return urllib.request.Request(sink.url, data=sealed, headers=headers, method="POST")
    _, wav = open_sealed(sealed, load_private_key(data_dir / DEVICE_KEY))
    headers["X-Speech-Content"] = (f"format=wav; codec=pcm; sample_rate={meta['sample_rate']}; bit_rate=16; "
                                   f"channel=1; language={sink.language}")
    headers["Content-Type"] = "audio/wav"
    url = sink.url.rstrip("/") + "/api/stt/" + urllib.parse.quote(sink.entity)
    return urllib.request.Request(url, data=wav, headers=headers, method="POST")


MAX_RESPONSE_BODY = 65536  # what we read of a receiver's answer; the rest is never read
DEADLINE_FACTOR = 3  # a whole exchange (connect, upload, answer) ends after this many timeout_s


class _Watchdog:
    """One daemon thread that enforces every send's deadline (a timer thread per send would add a
    thread to every request in flight)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, "_Deadline"]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, when: float, deadline: "_Deadline") -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wakegate-send-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)[2].expire()


_watchdog = _Watchdog()


class _Deadline:
    """Cuts the connections of one send once its time is up, so a receiver that trickles its answer a
    byte at a time (each within the socket timeout) cannot hold the delivery thread for ever."""

    def __init__(self, seconds: float):
        self._seconds = seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self.done = False

    def opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        try:
            # The plain socket's shutdown, also for a TLS socket (whose own shutdown() would drop its
            # SSL object under the reading thread): a blocked read wakes up to end-of-file.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:  # already closed
            pass

    def expire(self) -> None:
        with self._lock:
            if not self.done:
                self.expired = True
                for sock in self._sockets:
                    self._shutdown(sock)

    def __enter__(self) -> "_Deadline":
        _watchdog.add(time.monotonic() + self._seconds, self)
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:
            self.done = True
            self._sockets.clear()


def _opener(context: ssl.SSLContext, deadline: _Deadline) -> urllib.request.OpenerDirector:
    class HTTPConnection(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            deadline.opened(self.sock)

    class HTTPSConnection(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            deadline.opened(self.sock)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPSConnection, req, context=context)

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        # urllib would turn a redirected POST into a body-less GET (whose 200 we would take for a
        # delivery) and carry the bearer token to whatever host, over whatever scheme, it names.
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None  # the 3xx then fails the send as an HTTPError

    return urllib.request.build_opener(HTTPHandler(), HTTPSHandler(context=context), NoRedirects())


def _one_line(text: object, limit: int = 200) -> str:
    """A receiver's words (status reason, a garbage status line) made safe for one log or audit line."""
    cleaned = "".join(c if c.isprintable() else "?" for c in str(text)).strip()
    return cleaned[:limit] or "(empty)"


def send(sink: SinkSettings, request: urllib.request.Request) -> int:
    """POST ``request``; returns the HTTP status, or raises DeliveryError (whatever the receiver does)."""
    deadline = _Deadline(DEADLINE_FACTOR * sink.timeout_s)
    try:
        with deadline, _opener(_ssl_context(sink.ca_file), deadline).open(request, timeout=sink.timeout_s) as response:
            response.read(MAX_RESPONSE_BODY)
            if deadline.expired:  # the cut made the answer look complete (headers or body ended early)
                raise DeliveryError("no complete answer in time", retry=True)
            return response.status
    except urllib.error.HTTPError as exc:
        retry = exc.code in (408, 425, 429) or exc.code >= 500
        raise DeliveryError(f"HTTP {exc.code} {_one_line(exc.reason)}", retry) from None
    except (urllib.error.URLError, OSError, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
        # HTTPException: a garbage status line, too many or too long header lines, a cut-off body;
        # ValueError: e.g. a redirect to a URL that is not one.
        reason = getattr(exc, "reason", exc)
        what = "no complete answer in time" if deadline.expired else f"{type(reason).__name__}: {_one_line(reason)}"
        raise DeliveryError(what, retry=True) from None


class Deliverer:
    """One sink's delivery thread: oldest first, exponential back-off, woken by new clips."""

    def __init__(self, outbox: Outbox, data_dir: Path, audit, indicator=None, on_delivered=None,
                 backoff_s: tuple[float, float] = (0.5, 60.0)):
        self.outbox = outbox
        self.sink = outbox.sink
        self._data_dir = data_dir
        self._audit = audit
        self._indicator = indicator
        self._on_delivered = on_delivered
        self._backoff = backoff_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failed_once: set[str] = set()
        self.delivered = 0
        self._thread = threading.Thread(target=self._run, name=f"wakegate-deliver-{self.sink.name}", daemon=True)

    def start(self) -> "Deliverer":
        self._thread.start()
        return self

    def notify(self) -> None:
        self._wake.set()

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        delay = self._backoff[0]
        while not self._stop.is_set():
            pending = self.outbox.pending()
            if not pending:
                self._wake.wait()
                self._wake.clear()
                continue
            if self._deliver(pending[0]):
                delay = self._backoff[0]
                continue
            self._wake.wait(delay)  # a new clip wakes us, but the receiver still gets its back-off
            self._wake.clear()
            delay = min(delay * 2, self._backoff[1])

    def _deliver(self, path: Path) -> bool:
        clip_id = path.stem
        try:
            sealed = path.read_bytes()
            request = build_request(self.sink, sealed, self._data_dir)
        except Exception as exc:  # an unreadable pending copy can never be delivered: say so, drop it
            path.unlink(missing_ok=True)
            self._audit.append("dropped", clip_id, sink=self.sink.name, reason=f"unreadable pending copy: {exc}")
            return True
        hold = self._indicator.hold(f"sending a clip to {self.sink.name}") if self._indicator else None
        try:
            status = send(self.sink, request)
        except DeliveryError as exc:
            if clip_id not in self._failed_once or not exc.retry:
                self._audit.append("delivery_failed", clip_id, sink=self.sink.name, error=str(exc), will_retry=exc.retry)
                self._failed_once.add(clip_id)
                log.warning("delivery of %s to %s failed: %s%s", clip_id, self.sink.name, exc, " (will retry)" if exc.retry else "")
            if not exc.retry:
                path.unlink(missing_ok=True)
                return True
            return False
        finally:
            if hold is not None:
                self._indicator.release(hold)
        # Audited before the pending copy goes: killed in between, the copy is sent once more on the next
        # start (the receiver knows it by its Idempotency-Key), never delivered without a trace.
        self._audit.append("delivered", clip_id, sink=self.sink.name, status=status)
        path.unlink(missing_ok=True)
        self._failed_once.discard(clip_id)
        self.delivered += 1
        if self._on_delivered is not None:
            self._on_delivered(clip_id)
        return True


def wait_until_idle(deliverers: list[Deliverer], timeout_s: float) -> bool:
    """For tests and orderly shutdown: True once every outbox is empty."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(d.outbox.pending() for d in deliverers):
            return True
        time.sleep(0.05)
    return False
