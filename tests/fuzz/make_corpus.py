"""Writes the small seed corpus under tests/fuzz/corpus/<target>/ (run again to regenerate it).

    python tests/fuzz/make_corpus.py
"""

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

import fuzzlib  # noqa: F401  (sys.path)
from firmware_py.audit import AuditLog
from firmware_py.features import FeatureConfig
from firmware_py.sealing import OwnerPublicKey, generate_keys, seal
from firmware_py.spool import wav_bytes

CORPUS = Path(__file__).resolve().parent / "corpus"


def put(target: str, name: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def audio(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def main() -> None:
    rng = np.random.default_rng(7)
    mono = (rng.normal(0, 3000, 240)).astype(np.int16)
    stereo = np.stack([mono, mono[::-1]], axis=1)
    put("audio_file", "pcm16_16k.wav", audio(mono, 16000, "WAV", "PCM_16"))
    put("audio_file", "u8_8k_stereo.wav", audio(stereo, 8000, "WAV", "PCM_U8"))
    put("audio_file", "float_44k.wav", audio(mono.astype(np.float32) / 32768, 44100, "WAV", "FLOAT"))
    put("audio_file", "pcm24_48k.flac", audio(stereo, 48000, "FLAC", "PCM_24"))
    put("audio_file", "pcm16_16k.flac", audio(mono, 16000, "FLAC", "PCM_16"))
    put("audio_file", "truncated.wav", audio(mono, 16000, "WAV", "PCM_16")[:100])

    put("raw_pcm", "mono_16k", bytes([0, 0, 0, 7]) + mono.tobytes()[:301])
    put("raw_pcm", "stereo_44k", bytes([2, 1, 3, 1]) + stereo.tobytes()[:400])

    put("config", "full.toml", b"""[audio]
device = "USB"
rate = 48000
channels = 2
channel = 1
block_ms = 40
stall_timeout_s = 2.5
[models]
models = ["alexa", "/m/x.onnx"]
threads = 2
[detector]
threshold = 0.6
thresholds = { alexa = 0.7 }
smoothing_frames = 3
refractory_s = 1.0
[gate]
preroll_s = 1.0
max_clip_s = 6.0
[spool]
dir = "/tmp/x"
max_clips = 5
max_mb = 1.5
keep_days = 1
[[sinks]]
name = "archive"
type = "webhook"
url = "https://nas.example/hook"
token = "t"
[[sinks]]
name = "ha"
type = "ha-stt"
url = "http://127.0.0.1:8123"
entity = "stt.x"
[[sinks]]
name = "sat"
type = "wyoming"
uri = "tcp://127.0.0.1:10700"
""")
    put("config", "wrong_type.toml", b'[gate]\npreroll_s = "a"\n[audio]\nblock_ms = 1.5\n')

    put("fixtures", "labels.csv", b"file,wake_word,start_s,end_s\na.wav,alexa,1.25,1.8\na.wav,alexa,9,9.6\nsub/b.flac,none,,\n")
    put("fixtures", "labels.jsonl", b'{"file": "a.wav", "wake_word": "alexa", "start_s": 1.2, "end_s": 1.9}\n'
                                    b'{"file": "sub/b.flac", "wake_word": "none"}\n')

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The fuzz target's key differs, so this clip exercises "sealed to another key" and the header parser.
        generate_keys(tmp / "owner.key", tmp / "owner.pub")
        owner = OwnerPublicKey.load(tmp / "owner.pub")
        meta = {"id": "0123abcd", "time": "2026-01-01T00:00:00Z", "wake_word": "alexa", "score": 0.9,
                "duration_s": 0.01, "sample_rate": 16000}
        put("sealed", "clip", seal(wav_bytes(mono[:80], 16000), meta, owner))
        put("sealed", "header_only", b'WAKEGATE-CLIP 1\n{"key_id": "x"}\n')
        log = AuditLog(tmp / "audit.log", clock=lambda: 0)
        log.append("captured", "c1", wake_word="alexa")
        log.append("delivered", "c1", sink="ha", status=200)
        log.append("deleted", "c1")
        put("audit", "three_entries.log", (tmp / "audit.log").read_bytes())

    features = FeatureConfig().to_json()
    put("model", "metadata_good", b"\x00" + "\x00".join(["1", "loud", "v1", "16000", features, "4", "0.5"]).encode())
    put("model", "metadata_features", b"\x03" + "\x00".join(["1", "loud", "v1", "16000", features, "4", "0.5",
                                                             '{"n_fft": 1024, "hop": 80}']).encode())
    put("model", "mutated", b"\x01\x10\x00\x41\x20\x01\xff")
    put("model", "not_onnx", b"\x02not a model")

    put("http_response", "ok", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    put("http_response", "server_error", b"HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n")
    put("http_response", "chunked", b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    put("http_response", "redirect", b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\nContent-Length: 0\r\n\r\n")

    def event(type_, data=None, payload=b""):
        header = {"type": type_, "version": "1.5.0"}
        body = b""
        if data:
            data_bytes = json.dumps(data).encode()
            header["data_length"] = len(data_bytes)
            body += data_bytes
        if payload:
            header["payload_length"] = len(payload)
            body += payload
        return json.dumps(header).encode() + b"\n" + body

    fmt = {"rate": 16000, "width": 2, "channels": 1}
    put("wyoming", "wake_stream", event("describe") + event("detect", {"names": ["loud"]}) + event("audio-start", fmt)
        + event("audio-chunk", {**fmt, "timestamp": 0}, mono.tobytes()[:320]) + event("audio-stop") + event("ping", {"text": "x"}))
    put("wyoming", "chunk_first_odd", event("audio-chunk", {"rate": 44100, "width": 3, "channels": 2}, b"\x01" * 13)
        + event("audio-stop"))
    put("wyoming", "satellite", event("run-satellite") + event("pause-satellite") + event("transcript", {"text": "hi"}))


if __name__ == "__main__":
    main()
