"""Builds the demo fixture shipped at firmware_py/data/demo.flac (run once; the FLAC is committed).

Unrelated speech, the wake word with a command, more unrelated speech, all by Kokoro voices that
the models never train on, over a faint pink-noise floor. ``make demo`` replays it when there is
no microphone, so a fresh machine shows the whole gate: what it discards and the one clip it keeps.

    .venv/bin/python -m models.recipe.demo_fixture
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from .synthesize import DEV_KOKORO_VOICES
from .tts import SAMPLE_RATE, KokoroTTS, kokoro_lang, load_kokoro_voices

OUT = Path(__file__).resolve().parents[2] / "firmware_py" / "data" / "demo.flac"

# (voice, text, silence after in seconds)
SCRIPT = [
    ("bm_lewis", "I think we should leave at seven tomorrow morning, before the traffic gets bad.", 1.2),
    ("af_nova", "Alexa, turn on the kitchen lights.", 2.5),
    ("bm_lewis", "Did you remember to call your sister about the weekend?", 1.0),
    ("af_nova", "Not yet. I will do it after dinner.", 2.0),
]


def pink_noise(n: int, dbfs: float, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(size=n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise**2)) * 10 ** (dbfs / 20)


def main() -> None:
    assert all(voice in DEV_KOKORO_VOICES for voice, _, _ in SCRIPT), "demo voices must be held out of training"
    tts = KokoroTTS()
    voices = load_kokoro_voices()
    rng = np.random.default_rng(2026)
    pieces = [np.zeros(int(1.5 * SAMPLE_RATE), np.float32)]
    for voice, text, pause in SCRIPT:
        speech = tts.speak(text, voices[voice], speed=1.0, lang=kokoro_lang(voice)).astype(np.float32) / 32768
        pieces += [0.5 * speech / max(1e-6, np.abs(speech).max()), np.zeros(int(pause * SAMPLE_RATE), np.float32)]
    audio = np.concatenate(pieces)
    audio += pink_noise(len(audio), -60.0, rng)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(OUT, np.clip(audio, -1, 1), SAMPLE_RATE, subtype="PCM_16")
    print(f"wrote {OUT} ({len(audio) / SAMPLE_RATE:.1f} s)")


if __name__ == "__main__":
    main()
