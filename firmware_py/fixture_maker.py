"""``wakegate fixtures make``: a labelled fixture pack from text, no microphone needed.

Speech comes from the text-to-speech engines installed on the machine (espeak-ng and flite, from
Debian's packages). A positive file is: a pause, the wake word, a short pause, a command, a pause;
the wake word is synthesised on its own, so its start and end in the file are known exactly.
Negatives are ordinary sentences and, for the built-in wake words, phrases that sound close to them.
Optional augmentation: a simulated room (exponentially decaying reverberation) and noise at a given
signal-to-noise ratio. Everything is seeded: the same command makes the same pack.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import WakegateError
from .fixtures import write_labels

RATE = 16000

COMMANDS = [
    "what time is it", "turn on the kitchen lights", "set a timer for ten minutes", "play some music",
    "what's the weather tomorrow", "turn the volume down", "add milk to the shopping list", "stop",
    "call mum", "how far is the moon", "switch off the heating", "remind me to water the plants",
]
SENTENCES = [
    "I think we should leave at seven tomorrow morning.", "The weather was lovely over the weekend.",
    "Could you pass me the salt, please?", "She bought a new bicycle last week.",
    "We are out of coffee again.", "The meeting has been moved to Thursday afternoon.",
    "Did you remember to lock the back door?", "My brother is visiting in December.",
    "That film was much longer than I expected.", "Let's have pasta for dinner tonight.",
    "The train was twenty minutes late this morning.", "Please put the dishes in the sink.",
    "I can't find my keys anywhere.", "The children are playing in the garden.",
    "He reads the newspaper every single day.", "We should paint the hallway blue.",
]
CONFUSABLES = {
    "alexa": ["Alexander", "a lexus", "election", "Alex", "Alexis", "Alaska", "Alisa", "relax a bit",
              "electric", "Alexandra", "excel", "unless a", "Felix", "a letter"],
    "computer": ["compute", "commuter", "compete", "come pewter", "computing", "competitor", "can you tell"],
}

# espeak-ng's own English voices (MBROLA voices are left out: their licences forbid use in products).
ESPEAK_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us+f3", "en-gb+f2", "en-us+m3"]
FLITE_VOICES = ["kal16", "awb", "rms", "slt"]


@dataclass(frozen=True)
class Voice:
    engine: str
    name: str


def available_voices(engines: list[str]) -> list[Voice]:
    voices = []
    for engine in engines:
        if engine == "espeak-ng":
            if shutil.which("espeak-ng"):
                voices += [Voice("espeak-ng", v) for v in ESPEAK_VOICES]
        elif engine == "flite":
            if shutil.which("flite"):
                voices += [Voice("flite", v) for v in FLITE_VOICES]
        else:
            raise WakegateError(f"unknown TTS engine {engine!r} (espeak-ng, flite)")
    if not voices:
        raise WakegateError(f"no text-to-speech engine found ({', '.join(engines)}); install espeak-ng or flite (apt-get install espeak-ng flite)")
    return voices


def synthesise(text: str, voice: Voice, speed: float) -> np.ndarray:
    """Speech as float32 at 16 kHz, silence trimmed."""
    import soundfile

    from .audio_in import Converter

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        if voice.engine == "espeak-ng":
            command = ["espeak-ng", "-v", voice.name, "-s", str(int(160 * speed)), "-w", str(out), text]
        else:
            command = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={1 / speed:.2f}", "-t", text, "-o", str(out)]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise WakegateError(f"{voice.engine} failed on {text!r}: {exc}") from None
        audio, rate = soundfile.read(out, dtype="float32", always_2d=False)
    blocks = list(Converter(rate, 1, None, 1 << 20).push(audio, last=True))
    audio = np.concatenate(blocks).astype(np.float32) / 32768 if blocks else np.zeros(0, np.float32)
    return trim(audio)


def trim(audio: np.ndarray, floor_db: float = -45.0) -> np.ndarray:
    frame = RATE // 100
    n = len(audio) // frame
    if n == 0:
        return audio
    levels = 10 * np.log10(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(levels > max(levels.max() - 40, floor_db))
    if not len(loud):
        return audio
    return audio[loud[0] * frame : (loud[-1] + 1) * frame]


def coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Half pink, half brown noise, unit power."""
    white = rng.normal(size=n)
    spectrum = np.fft.rfft(white)
    f = np.maximum(np.arange(len(spectrum)), 1)
    pink = np.fft.irfft(spectrum / np.sqrt(f), n)
    brown = np.fft.irfft(spectrum / f, n)
    mix = pink / pink.std() + brown / brown.std()
    return (mix / mix.std()).astype(np.float32)


def room(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reverberation from an exponentially decaying noise tail (RT60 0.2 to 0.7 s)."""
    rt60 = rng.uniform(0.2, 0.7)
    length = int(rt60 * RATE)
    t = np.arange(length) / RATE
    response = rng.normal(size=length) * np.exp(-6.9 * t / rt60)
    response[0] = 1.0 / rng.uniform(0.3, 1.0)  # the direct path, stronger when the talker is close
    wet = np.convolve(audio, response)[: len(audio)]
    return (wet * (np.abs(audio).max() / max(np.abs(wet).max(), 1e-9))).astype(np.float32)


def active_power(audio: np.ndarray) -> float:
    """Mean power of the 20 ms frames within 30 dB of the loudest (as in the evaluation protocol)."""
    frame = RATE // 50
    n = max(1, len(audio) // frame)
    powers = np.mean(audio[: n * frame].reshape(n, -1) ** 2, axis=1) if len(audio) >= frame else np.array([np.mean(audio**2)])
    return float(powers[powers >= powers.max() / 1000].mean())


def make_fixtures(
    out: Path,
    wake_word: str,
    positives: int = 20,
    negatives: int = 20,
    engines: tuple[str, ...] = ("espeak-ng", "flite"),
    snr_db: float | None = None,
    reverb: bool = False,
    seed: int = 0,
    progress=None,
) -> Path:
    import soundfile

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise WakegateError(f"{out} exists and is not empty; choose a new folder")
    if positives < 0 or negatives < 0 or positives + negatives == 0:
        raise WakegateError("ask for at least one positive or negative file")
    voices = available_voices(list(engines))
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    distractors = SENTENCES + CONFUSABLES.get(wake_word.lower(), [])
    spoken_word = wake_word.replace("_", " ")
    rows = []
    jobs = [("pos", i) for i in range(positives)] + [("neg", i) for i in range(negatives)]
    for kind, i in (progress(jobs) if progress else jobs):
        voice = voices[int(rng.integers(len(voices)))]
        speed = float(rng.uniform(0.85, 1.2))
        lead = np.zeros(int(rng.uniform(0.5, 1.5) * RATE), np.float32)
        tail = np.zeros(int(rng.uniform(1.0, 2.0) * RATE), np.float32)
        if kind == "pos":
            word = synthesise(spoken_word, voice, speed)
            gap = np.zeros(int(rng.uniform(0.1, 0.4) * RATE), np.float32)
            command = synthesise(COMMANDS[int(rng.integers(len(COMMANDS)))], voice, speed)
            audio = np.concatenate([lead, word, gap, command, tail])
            span = (len(lead) / RATE, (len(lead) + len(word)) / RATE)
        else:
            audio = np.concatenate([lead, synthesise(distractors[int(rng.integers(len(distractors)))], voice, speed), tail])
            span = None
        audio = 0.5 * audio / max(np.abs(audio).max(), 1e-9) * float(rng.uniform(0.3, 1.0))
        if reverb:
            audio = room(audio, rng)
        if snr_db is not None:
            noise = coloured_noise(len(audio), rng)
            audio = audio + noise * np.sqrt(active_power(audio) / 10 ** (snr_db / 10))
        peak = np.abs(audio).max()
        if peak > 0.99:
            audio = audio * (0.99 / peak)
        name = f"{kind}_{i:04d}.wav"
        soundfile.write(out / name, audio, RATE, subtype="PCM_16")
        rows.append((name, wake_word, *span) if span else (name, "none", None, None))
    return write_labels(out, rows)
