"""The Wyoming satellite and wake-word service, each driven by the real ``wyoming`` library as the peer.

Everything runs on 127.0.0.1 with ports the system picks. Every wait has a timeout, so a broken
server fails a test instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import queue
import socket
import wave
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np
import pytest
import soundfile as sf
from wyoming.audio import AudioChunk, AudioStart, AudioStop, wav_to_chunks
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.pipeline import RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.wake import Detect, Detection as WakeDetection

from firmware_py.detector import Detection, DetectorSettings
from firmware_py.errors import ConfigError, WakegateError
from firmware_py.gate import Clip
from firmware_py.wyoming_satellite import CHUNK_SAMPLES, WyomingError, WyomingSatellite
from firmware_py.wyoming_wake import WakeStream, WyomingWakeService, pcm_to_samples
from synthetic_model import burst, noise

TIMEOUT_S = 5.0
RATE = 16000


def run(coroutine, timeout_s: float = TIMEOUT_S):
    """Run a test coroutine; a server that never answers fails the test instead of hanging it."""
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def client_for(uri: str) -> AsyncTcpClient:
    parsed = urlparse(uri)
    return AsyncTcpClient(parsed.hostname, parsed.port, connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S)


async def read_until(client: AsyncTcpClient, event_type: str):
    """The next event of this type, skipping others (e.g. pings a server might send)."""
    while True:
        event = await client.read_event()
        assert event is not None, f"connection closed before {event_type}"
        if event.type == event_type:
            return event


async def round_trip(client: AsyncTcpClient) -> None:
    """Ping and wait for the pong: every event sent before it has now been handled by the server."""
    await client.write_event(Ping(text="sync").event())
    pong = await read_until(client, "pong")
    assert Pong.from_event(pong).text == "sync"


# -- the satellite -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeModelInfo:
    wake_word: str
    version: str


MODELS = [FakeModelInfo("loud", "test-1")]


def make_clip(preroll_samples: int = 8000, command_samples: int = 20000, start_index: int = 48000) -> Clip:
    audio = (np.arange(preroll_samples + command_samples) % 2000 - 1000).astype(np.int16)
    detected_at = start_index + preroll_samples
    detection = Detection("loud", detected_at, detected_at / RATE, 0.97, "test-1")
    return Clip(audio, RATE, detection, start_index, preroll_samples, "silence")


class Results:
    """Collects ``on_result`` calls, which arrive on the satellite's thread."""

    def __init__(self):
        self._queue: queue.Queue = queue.Queue()

    def __call__(self, clip, delivered, reason):
        self._queue.put((clip, delivered, reason))

    async def next(self):
        return await asyncio.to_thread(self._queue.get, True, TIMEOUT_S)


@pytest.fixture
def results():
    return Results()


@pytest.fixture
def satellite(results):
    with WyomingSatellite("tcp://127.0.0.1:0", MODELS, on_result=results) as sat:
        yield sat


async def receive_clip(client: AsyncTcpClient):
    """Read one clip's events: (detection, run-pipeline, audio-start, chunks, audio-stop)."""
    detection = WakeDetection.from_event(await client.read_event())
    run_pipeline = RunPipeline.from_event(await client.read_event())
    start = AudioStart.from_event(await client.read_event())
    chunks = []
    while True:
        event = await client.read_event()
        if AudioStop.is_type(event.type):
            return detection, run_pipeline, start, chunks, AudioStop.from_event(event)
        assert AudioChunk.is_type(event.type), event.type
        chunks.append(AudioChunk.from_event(event))


def test_satellite_describes_itself_and_answers_ping(satellite):
    async def peer():
        async with client_for(satellite.uri) as client:
            await client.write_event(Describe().event())
            info = Info.from_event(await read_until(client, "info"))
            await round_trip(client)
            return info

    info = run(peer())
    assert info.satellite is not None and info.satellite.name == "wakegate"
    assert info.satellite.area is None and info.satellite.has_vad is False
    assert info.snd == []  # no speaker: HA must not wait for us to play anything
    [program] = info.wake
    [model] = program.models
    assert (model.name, model.phrase, model.version, model.languages) == ("loud", "loud", "test-1", ["en"])
    assert model.attribution.name == "wakegate"


@pytest.mark.parametrize("preroll", ["none", "full"])
def test_satellite_sends_clip_after_run_satellite(preroll, results):
    clip = make_clip()

    async def peer(sat):
        async with client_for(sat.uri) as client:
            await client.write_event(RunSatellite().event())
            await round_trip(client)
            sat.submit(clip)
            received = await receive_clip(client)
            return received, await results.next()

    with WyomingSatellite("tcp://127.0.0.1:0", MODELS, preroll=preroll, on_result=results) as sat:
        (detection, run_pipeline, start, chunks, stop), (reported, delivered, reason) = run(peer(sat))

    assert detection.name == "loud" and detection.timestamp == 56000 * 1000 // RATE
    assert (run_pipeline.start_stage.value, run_pipeline.restart_on_end) == ("asr", False)
    assert run_pipeline.end_stage.value in ("handle", "tts")
    assert (start.rate, start.width, start.channels) == (16000, 2, 1)
    assert all((c.rate, c.width, c.channels) == (16000, 2, 1) for c in chunks)
    assert all(c.samples <= CHUNK_SAMPLES for c in chunks)
    sent = np.frombuffer(b"".join(c.audio for c in chunks), dtype="<i2")
    expected = clip.audio if preroll == "full" else clip.audio[clip.preroll_samples :]
    np.testing.assert_array_equal(sent, expected)
    first_ms = (clip.start_index if preroll == "full" else clip.start_index + clip.preroll_samples) * 1000 // RATE
    assert start.timestamp == chunks[0].timestamp == first_ms
    assert [c.timestamp for c in chunks] == sorted(c.timestamp for c in chunks)
    assert stop.timestamp == (clip.start_index + len(clip.audio)) * 1000 // RATE
    assert reported is clip and delivered is True and "sent" in reason


def test_satellite_sends_nothing_while_paused(satellite, results):
    async def peer():
        async with client_for(satellite.uri) as client:
            await client.write_event(RunSatellite().event())
            await client.write_event(PauseSatellite().event())
            await round_trip(client)
            satellite.submit(make_clip())
            outcome = await results.next()
            # Nothing may follow: the next event must be the pong to a new ping, not clip audio.
            await client.write_event(Ping(text="after").event())
            return outcome, await client.read_event()

    (_, delivered, reason), following = run(peer())
    assert delivered is False and "paused" in reason
    assert Pong.is_type(following.type)


def test_satellite_sends_nothing_before_run_satellite(satellite, results):
    async def peer():
        async with client_for(satellite.uri) as client:
            await round_trip(client)
            satellite.submit(make_clip())
            return await results.next()

    _, delivered, reason = run(peer())
    assert delivered is False and "paused" in reason


def test_satellite_without_peer_reports_not_delivered(satellite, results):
    clip = make_clip()
    satellite.submit(clip)
    reported, delivered, reason = run(results.next())
    assert reported is clip and delivered is False and "no Home Assistant connected" in reason


def test_per_clip_callback_wins_over_the_default(satellite, results):
    own = Results()
    satellite.submit(make_clip(), on_result=own)
    _, delivered, _ = run(own.next())
    assert delivered is False and results._queue.empty()


def test_satellite_not_started_reports_not_delivered(results):
    sat = WyomingSatellite("tcp://127.0.0.1:0", MODELS, on_result=results)
    sat.submit(make_clip())
    _, delivered, reason = run(results.next())
    assert delivered is False and "not running" in reason


def test_close_sends_the_clips_already_submitted(results):
    """Like SinkWorker.close(): stopping never loses a clip that was handed over while a peer listened."""
    clips = [make_clip(), make_clip(start_index=200000)]

    async def peer(sat):
        async with client_for(sat.uri) as client:
            await client.write_event(RunSatellite().event())
            await round_trip(client)
            for clip in clips:
                sat.submit(clip)
            await asyncio.to_thread(sat.close)
            received = [(await receive_clip(client))[0] for _ in clips]
            assert await client.read_event() is None  # and then the connection is closed
            return received, [await results.next() for _ in clips]

    sat = WyomingSatellite("tcp://127.0.0.1:0", MODELS, on_result=results).start()
    received, outcomes = run(peer(sat))
    assert [d.timestamp for d in received] == [c.detection.sample_index * 1000 // RATE for c in clips]
    assert [(c, delivered) for c, delivered, _ in outcomes] == [(c, True) for c in clips]


def test_a_peer_that_stops_reading_is_dropped(results, monkeypatch):
    """A stalled Home Assistant must not hold clips (or close()) for ever."""
    import firmware_py.wyoming_satellite as module

    monkeypatch.setattr(module, "SEND_TIMEOUT_S", 0.3)
    n_clips = 12  # a minute of audio each (23 MB in all): far more than socket buffers hold

    async def stalled_peer(sat):
        async with client_for(sat.uri) as client:
            await client.write_event(RunSatellite().event())
            await round_trip(client)
            for _ in range(n_clips):
                sat.submit(make_clip(command_samples=60 * RATE))
            return [await results.next() for _ in range(n_clips)]

    with WyomingSatellite("tcp://127.0.0.1:0", MODELS, preroll="full", on_result=results) as sat:
        reasons = [reason for _, delivered, reason in run(stalled_peer(sat)) if not delivered]
    assert reasons and "stopped reading" in reasons[0]
    assert all("no Home Assistant connected" in reason for reason in reasons[1:])


def test_new_peer_replaces_the_old_one(satellite, results):
    async def peers():
        old = client_for(satellite.uri)
        await old.connect()
        await round_trip(old)
        async with client_for(satellite.uri) as new:
            await new.write_event(RunSatellite().event())
            await round_trip(new)
            assert await old.read_event() is None  # the old connection was closed
            satellite.submit(make_clip())
            detection = WakeDetection.from_event(await new.read_event())
            outcome = await results.next()
        with contextlib.suppress(ConnectionError):  # the server already closed it
            await old.disconnect()
        return detection, outcome

    detection, (_, delivered, _) = run(peers())
    assert detection.name == "loud" and delivered is True


def test_satellite_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WyomingError, match="cannot listen on tcp://127.0.0.1"):
            WyomingSatellite(f"tcp://127.0.0.1:{port}", MODELS).start()
    assert issubclass(WyomingError, WakegateError)


def test_satellite_rejects_bad_settings():
    with pytest.raises(ConfigError):
        WyomingSatellite("tcp://127.0.0.1:0", MODELS, preroll="some")
    with pytest.raises(ConfigError):
        WyomingSatellite("tcp://127.0.0.1:0", MODELS, end_stage="wake")
    with pytest.raises(WyomingError, match="only tcp"):
        WyomingSatellite("http://127.0.0.1:80", MODELS).start()


def test_satellite_warns_when_exposed(caplog):
    with caplog.at_level("WARNING", logger="wakegate"):
        WyomingSatellite("tcp://0.0.0.0:0", MODELS).start().close()
    assert "no encryption or authentication" in caplog.text


# -- the wake-word service -----------------------------------------------------------------------


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    out = io.BytesIO()
    sf.write(out, audio, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def loud_stream(rate: int = RATE, channels: int = 1) -> bytes:
    """1 s of quiet noise, a 0.3 s burst (the "loud" wake word), 1 s of quiet noise."""
    mono = np.concatenate((noise(1.0, rate=rate), noise(0.3, dbfs=-20.0, seed=1, rate=rate), noise(1.0, seed=2, rate=rate)))
    return wav_bytes(np.stack([mono] * channels, axis=1) if channels > 1 else mono, rate)


@pytest.fixture(scope="module")
def wake_service(loud_model):
    with WyomingWakeService("tcp://127.0.0.1:0", [str(loud_model)], DetectorSettings()) as service:
        yield service


async def detect_events(uri: str, wav: bytes, names: list[str] | None = None):
    """Stream a WAV as a wake-word client does and return the service's answers to it."""
    async with client_for(uri) as client:
        await client.write_event(Detect(names=names).event())
        with wave.open(io.BytesIO(wav), "rb") as wav_file:
            for event in wav_to_chunks(wav_file, 1024, start_event=True, stop_event=True):
                await client.write_event(event.event())
        await client.write_event(Ping(text="end").event())
        answers = []
        while not Pong.is_type((event := await client.read_event()).type):
            answers.append(event)
        return answers


def test_wake_service_describes_its_models(wake_service):
    async def client():
        async with client_for(wake_service.uri) as c:
            await c.write_event(Describe().event())
            return Info.from_event(await read_until(c, "info"))

    info = run(client())
    assert info.satellite is None
    assert [m.name for p in info.wake for m in p.models] == ["loud"]


@pytest.mark.parametrize("rate, channels", [(16000, 1), (48000, 2)])
def test_wake_service_detects_the_burst_once(wake_service, rate, channels):
    answers = run(detect_events(wake_service.uri, loud_stream(rate, channels)))
    assert [e.type for e in answers] == ["detection"]
    detection = WakeDetection.from_event(answers[0])
    assert detection.name == "loud"
    assert 1000 <= detection.timestamp <= 1300  # the burst starts at 1.0 s and fires after three loud frames


def test_wake_service_quiet_stream_is_not_detected(wake_service):
    answers = run(detect_events(wake_service.uri, wav_bytes(noise(2.0), RATE)))
    assert [e.type for e in answers] == ["not-detected"]


def test_wake_service_honours_the_names_filter(wake_service):
    answers = run(detect_events(wake_service.uri, loud_stream(), names=["alexa"]))
    assert [e.type for e in answers] == ["not-detected"]
    answers = run(detect_events(wake_service.uri, loud_stream(), names=["loud"]))
    assert [e.type for e in answers] == ["detection"]


def test_wake_service_clients_do_not_share_state(wake_service):
    """Two clients streaming at once, chunks interleaved: each hears exactly its own audio."""
    async def both():
        return await asyncio.gather(
            detect_events(wake_service.uri, loud_stream()),
            detect_events(wake_service.uri, wav_bytes(noise(2.3, seed=3), RATE)),
            detect_events(wake_service.uri, loud_stream()),
        )

    loud_a, quiet, loud_b = run(both())
    assert [e.type for e in loud_a] == [e.type for e in loud_b] == ["detection"]
    assert WakeDetection.from_event(loud_a[0]).timestamp == WakeDetection.from_event(loud_b[0]).timestamp
    assert [e.type for e in quiet] == ["not-detected"]


def test_wake_service_timestamps_follow_the_clients_clock(wake_service):
    async def client():
        async with client_for(wake_service.uri) as c:
            with wave.open(io.BytesIO(loud_stream()), "rb") as wav_file:
                for event in wav_to_chunks(wav_file, 1024, timestamp=60000, start_event=False, stop_event=True):
                    await c.write_event(event.event())
            return WakeDetection.from_event(await read_until(c, "detection"))

    assert 61000 <= run(client()).timestamp <= 61300


def test_wake_service_survives_a_second_stream_on_one_connection(wake_service):
    async def client():
        async with client_for(wake_service.uri) as c:
            types = []
            for _ in range(2):
                with wave.open(io.BytesIO(loud_stream()), "rb") as wav_file:
                    for event in wav_to_chunks(wav_file, 1024, start_event=True, stop_event=True):
                        await c.write_event(event.event())
                await c.write_event(Ping().event())
                while not Pong.is_type((event := await c.read_event()).type):
                    types.append(event.type)
            return types

    assert run(client()) == ["detection", "detection"]


def test_pcm_widths_convert_to_the_same_signal():
    x = np.array([0, 1000, -1000, 32767, -32768], dtype=np.int16)
    as_24 = b"".join((int(v) * 256).to_bytes(3, "little", signed=True) for v in x)
    np.testing.assert_array_equal(pcm_to_samples(as_24, 3, 1) >> 16, x)
    as_8 = ((x >> 8) + 128).astype(np.uint8).tobytes()
    np.testing.assert_array_equal(pcm_to_samples(as_8, 1, 1), (x >> 8) << 8)
    stereo = np.stack([x, -x], axis=1).astype("<i2").tobytes()
    assert pcm_to_samples(stereo, 2, 2).shape == (5, 2)


def test_wake_stream_handles_frames_split_across_chunks(wake_service):
    pcm = np.concatenate((noise(1.0), burst(), noise(1.0, seed=2))).astype("<i2").tobytes()
    stream = WakeStream(wake_service.new_detector(), None, 0)
    found = []
    for start in range(0, len(pcm), 1001):  # odd sizes: frames straddle chunk boundaries
        found += stream.feed(AudioChunk(rate=RATE, width=2, channels=1, audio=pcm[start : start + 1001]))
    found += stream.finish()
    assert [d.wake_word for d in found] == ["loud"]
