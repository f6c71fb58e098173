"""Music for training backgrounds: procedural, and (opt-in) recorded.

Debian's wesnoth-1.16-music (2.1 h) is the held-out music of the evaluation, so training never hears
it. The recipe always plays its own: chord progressions on plucked, bowed and organ-like timbres over
a bass line and a drum kit, at random tempo, key and balance. It teaches "harmonic, rhythmic, not
speech" without borrowing anyone's recording. With --recorded-music, tracks from other Debian
packages (paths.TRAINING_MUSIC_DIRS) join it.
"""

from __future__ import annotations

import glob
import os

import numpy as np
import soundfile

from .tts import to_int16_16k

SAMPLE_RATE = 16000
PIECES, PIECE_S = 60, 30.0  # 0.5 h of training music
# Major and minor triads and sevenths, as semitones above the root.
CHORDS = [(0, 4, 7), (0, 3, 7), (0, 4, 7, 11), (0, 3, 7, 10), (0, 4, 7, 10), (0, 5, 7)]
PROGRESSIONS = [(0, 5, 7, 0), (0, 9, 5, 7), (0, 7, 9, 5), (2, 7, 0, 0), (0, 3, 5, 7), (9, 5, 0, 7)]


def _tone(rng: np.random.Generator, freq: float, length: int, timbre: str) -> np.ndarray:
    t = np.arange(length) / SAMPLE_RATE
    harmonics = np.arange(1, 9)
    if timbre == "pluck":  # bright attack, fast decay (guitar, piano)
        amps, env = 1.0 / harmonics**1.2, np.exp(-t * rng.uniform(3, 9))
    elif timbre == "pad":  # slow attack, sustained (strings, synth pad)
        amps, env = 1.0 / harmonics**2, np.minimum(1.0, t / rng.uniform(0.05, 0.3))
    else:  # organ: odd harmonics, flat envelope
        amps, env = np.where(harmonics % 2 == 1, 1.0 / harmonics, 0.1 / harmonics), np.ones_like(t)
    vibrato = 1 + 0.004 * np.sin(2 * np.pi * rng.uniform(4, 6) * t) * (timbre == "pad")
    phase = 2 * np.pi * freq * np.cumsum(vibrato) / SAMPLE_RATE
    wave = sum(a * np.sin(h * phase) for h, a in zip(harmonics, amps) if h * freq < SAMPLE_RATE / 2)
    release = np.minimum(1.0, (length - np.arange(length)) / (0.02 * SAMPLE_RATE))
    return (wave * env * release).astype(np.float32)


def _drum(rng: np.random.Generator, kind: str, length: int) -> np.ndarray:
    t = np.arange(length) / SAMPLE_RATE
    if kind == "kick":
        return (np.sin(2 * np.pi * (50 + 100 * np.exp(-t * 30)) * t) * np.exp(-t * 12)).astype(np.float32)
    noise = rng.standard_normal(length).astype(np.float32)
    if kind == "snare":
        return noise * np.exp(-t * 25).astype(np.float32) * 0.6
    return np.diff(noise, prepend=0.0) * np.exp(-t * 80).astype(np.float32) * 0.3  # hi-hat: high-passed click


def piece(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """One piece of `seconds` of music, float32 around ±1."""
    length = int(seconds * SAMPLE_RATE)
    beat = int(SAMPLE_RATE * 60 / rng.uniform(70, 160))
    out = np.zeros(length + 8 * beat, np.float32)  # room for the last bar to ring out
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    chord_type = CHORDS[int(rng.integers(len(CHORDS)))]
    timbre = str(rng.choice(["pluck", "pad", "organ"]))
    lead_timbre = str(rng.choice(["pluck", "pad", "organ"]))
    drums = rng.random() < 0.7
    levels = rng.uniform(0.3, 1.0, size=4)  # chords, bass, lead, drums
    bar = 4 * beat
    for bar_start in range(0, length, bar):
        step = progression[(bar_start // bar) % len(progression)]
        for semitone in chord_type:
            freq = root * 2 ** ((step + semitone) / 12) * 2
            out[bar_start : bar_start + bar] += levels[0] * 0.25 * _tone(rng, freq, bar, timbre)
        for b in range(4):
            start = bar_start + b * beat
            out[start : start + beat] += levels[1] * 0.5 * _tone(rng, root * 2 ** (step / 12) / 2, beat, "pluck")
            if rng.random() < 0.6:  # a melody note from the chord, an octave or two up
                note = step + chord_type[int(rng.integers(len(chord_type)))] + 12 * int(rng.integers(1, 3))
                n = beat // int(rng.choice([1, 2]))
                out[start : start + n] += levels[2] * 0.3 * _tone(rng, root * 2 ** (note / 12), n, lead_timbre)
            if drums:
                out[start : start + beat // 2] += levels[3] * _drum(rng, "kick" if b % 2 == 0 else "snare", beat // 2)
                half = start + beat // 2
                out[half : half + beat // 4] += levels[3] * _drum(rng, "hat", beat // 4)
    out = out[:length]
    return out / (np.max(np.abs(out)) + 1e-9)


def training_music(seed: int, pieces: int = PIECES, seconds: float = PIECE_S) -> list[np.ndarray]:
    """`pieces` pieces as int16 clips at 16 kHz (0.5 h by default; ~25 s to make)."""
    rng = np.random.default_rng(seed)
    return [(piece(rng, seconds) * 16000).astype(np.int16) for _ in range(pieces)]


def decode_16k(files: list[str], skip_unreadable: bool = True) -> tuple[list[np.ndarray], list[str]]:
    """Each audio file as int16 at 16 kHz, and the files that gave them (all, unless some were unreadable)."""
    clips, used = [], []
    for f in files:
        try:
            audio, rate = soundfile.read(f, dtype="float32")
        except (RuntimeError, soundfile.LibsndfileError):
            if not skip_unreadable:
                raise
            continue
        clips.append(to_int16_16k(audio, rate))
        used.append(f)
    return clips, used


def recorded_training_music(dirs: list[str], held_out_dirs: list[str], cache: str) -> tuple[list[np.ndarray], list[str]]:
    """Recorded music from `dirs` as 30 s int16 pieces at 16 kHz, and the files they came from.

    Decoded once into `cache` (an .npz). A file inside one of `held_out_dirs` (the evaluation's music and
    speech) is refused: training on it would make the false-accept figures meaningless. Files soundfile
    cannot read are skipped; missing directories give nothing.
    """
    files = sorted(f for d in dirs for f in glob.glob(os.path.join(d, "*")) if os.path.isfile(f))
    held_out = {d: os.path.realpath(d) for d in held_out_dirs}
    for f in files:
        real = os.path.realpath(f)
        for held_out_dir, root in held_out.items():
            if os.path.commonpath([root, real]) == root:
                raise ValueError(f"{f} is held-out evaluation audio ({held_out_dir}); it cannot be trained on")
    if os.path.exists(cache):
        with np.load(cache) as z:
            if list(z["files"]) == files:
                audio, offsets = z["audio"], z["offsets"]  # each z[...] reads the file anew: once only
                return [audio[a:b] for a, b in zip(offsets[:-1], offsets[1:])], [str(f) for f in z["used"]]
    tracks, used = decode_16k(files)
    step = int(PIECE_S * SAMPLE_RATE)  # cut like the procedural pieces, so each background draw is alike
    pieces = [audio[i : i + step] for audio in tracks for i in range(0, len(audio) - step // 2, step)]
    os.makedirs(os.path.dirname(cache) or ".", exist_ok=True)
    np.savez(cache, audio=np.concatenate(pieces) if pieces else np.zeros(0, np.int16),
             offsets=np.cumsum([0] + [len(p) for p in pieces]).astype(np.int64), files=np.array(files), used=np.array(used))
    return pieces, used
