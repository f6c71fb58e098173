"""Long 16 kHz test streams for benchmarks/peers.py, built once per wake word and size and cached.

The streams follow /work/shared/notes/eval-protocol.md:
- every stream starts with 2 s of floor noise (nothing in it counts) and carries a pink-noise floor
  at -70 dBFS RMS throughout;
- ``positives``: held-out synthetic clips of the wake word (the recipe's pos_dev set under
  models/work/tts/<word>/, Kokoro voices in DEV_KOKORO_VOICES that training never used), each
  trimmed, levelled to -26 dBFS active and padded with 1 s before and after;
- ``positives_noisy``: the same stream plus noise at 10 dB SNR against the clips' active power
  (25 % pink, 25 % brown, 50 % babble of 5 real dev talkers, by power), levelled per clip;
- ``positives_real`` / ``positives_real_noisy``: built the same way from every *real* recording of
  the wake word in shared/data (both splits of models/recipe/real_data.py: clips whose label is the
  word, e.g. "computer" and "hey computer"; the recipe never trains on them). Only where such
  recordings exist: there are none of "alexa", so the alexa streams have no such pair;
- ``speech``: real speech and other wake words from the recipe's *dev* split (never trained on),
  without the real recordings of the wake word itself (those are positives, not negatives);
  ``music``: Debian's wesnoth-1.16-music, ``noise``: the dev split's ESC-10 and room tone;
  clips joined by 0.2-1.0 s gaps of floor noise. The babble talkers are the same dev clips
  (likewise without the wake word);
- ``debian_speech``: the dev split of models/recipe/debian_speech.py (real speech from Debian
  packages, by voice: telephone prompts and game dialogue never trained on), where installed, so
  the negatives reach the protocol's 3 h of real speech. Its own seeded generator: whether it is
  there changes nothing in the other streams.

Each stream is a raw little-endian int16 file (``<name>.s16``), so an engine process can read it in
chunks without a memory map inflating its peak RSS; ``streams.json`` holds the clip boundaries and
hours and is written last, so its presence means the cache is complete. The cache folder is
models/work/bench/<tag>/, the tag a hash of the sizes, the build version and the wake word (for the
default "alexa" the wake word is left out of the hash, so alexa keeps the tags, and the cached streams,
it had before the wake word became a parameter: its streams are built exactly as they were).
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from firmware_py.fixture_maker import active_power  # noqa: E402  (the protocol's active-power definition)

RATE = 16000
CACHE_ROOT = REPO_ROOT / "models" / "work" / "bench"
MUSIC_DIR = "/usr/share/games/wesnoth/1.16/data/core/music"
DEFAULT_WAKE_WORD = "alexa"

LEAD_IN_S = 2.0  # floor noise at the start of every stream, where nothing counts
CLIP_PAD_S = 1.0  # silence before and after each positive clip
FLOOR_DBFS = -70.0  # pink-noise floor, RMS
POSITIVE_ACTIVE_DBFS = -26.0  # every positive clip's active level (models/recipe/evaluate.py uses the same)
NOISY_SNR_DB = 10.0
NOISE_POWER_SHARES = {"pink": 0.25, "brown": 0.25, "babble": 0.5}
BABBLE_TALKERS = 5
GAP_RANGE_S = (0.2, 1.0)
BUILD_VERSION = 4  # bump when the construction changes, so old caches are not reused

POSITIVE_STREAMS = ("positives", "positives_noisy", "positives_real", "positives_real_noisy")  # real: where they exist
NEGATIVE_STREAMS = ("speech", "debian_speech", "music", "noise")


@dataclass(frozen=True)
class StreamSizes:
    """How much of each source goes into the streams (None = all there is)."""

    positive_clips: int | None = None
    speech_hours: float | None = None
    music_hours: float | None = 2.0
    noise_hours: float | None = None
    seed: int = 20261126

    def tag(self, wake_word: str = DEFAULT_WAKE_WORD) -> str:
        """The cache folder's name. The default wake word is not part of the key, so the alexa
        streams keep the tags they had before other wake words were possible."""
        extra = {} if wake_word == DEFAULT_WAKE_WORD else {"wake_word": wake_word}
        key = json.dumps({**asdict(self), "build": BUILD_VERSION, **extra}, sort_keys=True)
        return hashlib.sha1(key.encode()).hexdigest()[:10]


QUICK_SIZES = StreamSizes(positive_clips=40, speech_hours=3 / 60, music_hours=2 / 60, noise_hours=1 / 60)


# ---------------------------------------------------------------------------------------------- noise


def _shaped_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Unit-power noise with power spectrum ~ 1/f**exponent (1: pink, 2: brown), made by FFT shaping.

    FFT synthesis gives a periodic signal, so a short piece can be tiled without clicks.
    The lowest bins are held at 20 Hz so brown noise does not become a slow DC drift.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / RATE), 20.0)
    noise = np.fft.irfft(spectrum / freqs ** (exponent / 2), n)
    return (noise / noise.std()).astype(np.float32)


def _floor(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink floor at FLOOR_DBFS RMS (int16 full scale = 32768), tiled from a 65 s periodic piece."""
    piece = _shaped_noise(1 << 20, rng, 1.0) * np.float32(32768 * 10 ** (FLOOR_DBFS / 20))
    return np.resize(piece, n)


def _add_floor_and_save(audio: np.ndarray, path: Path, rng: np.random.Generator) -> None:
    """audio (float32 or int16, int16 scale) + floor, rounded and clipped to int16, written raw."""
    floor = _floor(1 << 20, rng)
    with open(str(path) + ".tmp", "wb") as out:
        for start in range(0, len(audio), len(floor)):
            chunk = audio[start : start + len(floor)].astype(np.float32)
            mixed = chunk + floor[: len(chunk)]
            out.write(np.clip(np.round(mixed), -32768, 32767).astype("<i2").tobytes())
    os.replace(str(path) + ".tmp", path)


# ------------------------------------------------------------------------------------------- sources


@functools.lru_cache(maxsize=1)
def _dev_split():
    from models.recipe.real_data import load_split

    return load_split("dev")


def _dev_clips(kinds: tuple[str, ...]):
    """Clips of the recipe's dev split (split by speaker, so never trained on), 16 kHz int16."""
    dev = _dev_split()
    return dev.select(np.isin(dev.kinds, kinds))


def _dev_talkers(wake_word: str):
    """The dev split's speech and other wake words, less the real recordings of the wake word itself
    (for "computer": Precise's "computer" clips), which are positives and never negatives or babble."""
    from models.recipe.real_data import says_phrase

    dev = _dev_split()
    return dev.select(np.isin(dev.kinds, ("speech", "wakeword-other")) & ~says_phrase(dev.labels, wake_word))


def _real_positive_clips(wake_word: str) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Every real recording of the wake word in both splits (the recipe trains on none of them),
    trimmed; with their labels and speakers. Empty when there are none (e.g. "alexa")."""
    from models.recipe.real_data import load_split, phrase_recordings

    recordings = phrase_recordings(wake_word, load_split("train"), _dev_split())
    return ([_trim(clip) for clip, _, _ in recordings], [label for _, label, _ in recordings],
            [speaker for _, _, speaker in recordings])


def _music_clips(max_hours: float | None) -> list[np.ndarray]:
    import soundfile
    import soxr

    files = sorted(glob.glob(os.path.join(MUSIC_DIR, "*.ogg")))
    if not files:
        raise FileNotFoundError(f"no music under {MUSIC_DIR} (apt-get install -y wesnoth-1.16-music)")
    clips, total = [], 0
    limit = None if max_hours is None else int(max_hours * 3600 * RATE)
    for path in files:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
        mono = soxr.resample(audio.mean(axis=1), rate, RATE)
        clip = (np.clip(mono, -1, 1) * 32767).astype(np.int16)
        if limit is not None and total + len(clip) > limit:
            clip = clip[: limit - total]
        clips.append(clip)
        total += len(clip)
        if limit is not None and total >= limit:
            break
    return clips


def _take_hours(clips: list[np.ndarray], hours: float | None) -> list[np.ndarray]:
    if hours is None:
        return clips
    budget, taken = int(hours * 3600 * RATE), []
    for clip in clips:
        if budget <= 0:
            break
        taken.append(clip[:budget])
        budget -= len(taken[-1])
    return taken


def _trim(clip: np.ndarray, below_peak_db: float = 40.0) -> np.ndarray:
    """Cut the TTS's leading/trailing silence (10 ms frames 40 dB under the loudest), so that
    'clip end' is where the word stops and the +1 s counting window starts there."""
    x = clip.astype(np.float64)
    n = len(x) // 160
    energy_db = 10 * np.log10(np.mean(x[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-3)
    loud = np.flatnonzero(energy_db > energy_db.max() - below_peak_db)
    return clip[loud[0] * 160 : (loud[-1] + 1) * 160]


def _positive_clips(wake_word: str, count: int | None) -> tuple[list[np.ndarray], list[str]]:
    from models.recipe.synthesize import load_clips, shard_dir

    pairs = load_clips(wake_word, "pos_dev", with_text=True)
    if not pairs:
        raise FileNotFoundError(
            f"no cached pos_dev clips under {os.path.relpath(shard_dir(wake_word), REPO_ROOT)}/ "
            "(synthesize them with the recipe: `.venv/bin/python -m models.recipe.synthesize`)"
        )
    pairs = pairs[:count] if count else pairs
    return [_trim(c) for c, _ in pairs], [t for _, t in pairs]


# ------------------------------------------------------------------------------------------ building


def _concatenate_with_gaps(clips: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Lead-in, then the clips separated by silent gaps (the floor is added afterwards)."""
    pieces = [np.zeros(int(LEAD_IN_S * RATE), np.int16)]
    for clip in clips:
        pieces.append(clip)
        pieces.append(np.zeros(int(rng.uniform(*GAP_RANGE_S) * RATE), np.int16))
    return np.concatenate(pieces)


def _babble(n: int, talker_pool: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """BABBLE_TALKERS talkers at equal power, each the pool's clips in its own random order from a
    random offset, so no two talkers say the same thing at the same time."""
    mix = np.zeros(n, np.float32)
    for _ in range(BABBLE_TALKERS):
        offset = int(rng.integers(0, 10 * RATE))
        pieces, total = [], 0
        while total < n + offset:  # loops over the pool again only if it is shorter than the stream
            for i in rng.permutation(len(talker_pool)):
                pieces.append(talker_pool[i])
                total += len(talker_pool[i])
                if total >= n + offset:
                    break
        talker = np.concatenate(pieces)[offset : offset + n].astype(np.float32)
        mix += talker / np.float32(np.sqrt(np.mean(talker.astype(np.float64) ** 2)) + 1e-9)
    return mix / np.float32(np.sqrt(np.mean(mix.astype(np.float64) ** 2)) + 1e-9)


def _build_positives(clips: list[np.ndarray], name: str, talkers: list[np.ndarray], out_dir: Path,
                     rng: np.random.Generator) -> dict:
    """``<name>.s16`` (the clips levelled and padded) and ``<name>_noisy.s16`` (plus noise at
    NOISY_SNR_DB, babble from ``talkers``); returns the clip boundaries shared by both."""
    target_power = 10 ** (POSITIVE_ACTIVE_DBFS / 10)  # full scale = 1.0
    pad = np.zeros(int(CLIP_PAD_S * RATE), np.float32)
    pieces, starts, ends = [np.zeros(int(LEAD_IN_S * RATE), np.float32)], [], []
    cursor = len(pieces[0])
    for clip in clips:
        x = clip.astype(np.float32) / 32768
        x *= np.float32(np.sqrt(target_power / active_power(x)))
        pieces += [pad, x * 32768, pad]
        starts.append(cursor + len(pad))
        ends.append(cursor + len(pad) + len(x))
        cursor += 2 * len(pad) + len(x)
    clean = np.concatenate(pieces)
    _add_floor_and_save(clean, out_dir / f"{name}.s16", rng)

    # Noise at NOISY_SNR_DB under each clip's active power. Babble is not stationary, so the noise is
    # levelled per clip over the clip and its two pads (the segments tile the stream; the small gain
    # steps fall in the middle of the silences between clips).
    noise = (
        np.sqrt(NOISE_POWER_SHARES["pink"]) * _shaped_noise(len(clean), rng, 1.0)
        + np.sqrt(NOISE_POWER_SHARES["brown"]) * _shaped_noise(len(clean), rng, 2.0)
        + np.sqrt(NOISE_POWER_SHARES["babble"]) * _babble(len(clean), talkers, rng)
    )
    noise_power = 32768**2 * target_power / 10 ** (NOISY_SNR_DB / 10)
    bounds = [0] + [end + len(pad) for end in ends]  # the lead-in shares the first clip's segment
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        segment = noise[lo:hi]
        segment *= np.float32(np.sqrt(noise_power / np.mean(segment.astype(np.float64) ** 2)))
    _add_floor_and_save(clean + noise, out_dir / f"{name}_noisy.s16", rng)
    return {"samples": len(clean), "clip_starts": starts, "clip_ends": ends}


def _build_negative(name: str, clips: list[np.ndarray], out_dir: Path, rng: np.random.Generator, source: str) -> dict:
    audio = _concatenate_with_gaps(clips, rng)
    _add_floor_and_save(audio, out_dir / f"{name}.s16", rng)
    return {"samples": len(audio), "clips": len(clips), "source": source,
            "content_hours": sum(len(c) for c in clips) / RATE / 3600}


def build_streams(sizes: StreamSizes, log=print, wake_word: str = DEFAULT_WAKE_WORD) -> Path:
    """Build (or reuse) the cached streams for this wake word and these sizes; returns their folder."""
    from models.recipe.synthesize import shard_dir

    out_dir = CACHE_ROOT / sizes.tag(wake_word)
    if (out_dir / "streams.json").exists():
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(sizes.seed)
    meta: dict = {"wake_word": wake_word, "sizes": asdict(sizes), "build_version": BUILD_VERSION, "rate": RATE,
                  "lead_in_s": LEAD_IN_S, "streams": {}}
    speech = _dev_talkers(wake_word)  # the dev speech stream, and the babble talkers
    talkers = speech.clips()

    log(f"building positive streams of {wake_word!r} (clean and 10 dB SNR)")
    clips, texts = _positive_clips(wake_word, sizes.positive_clips)
    info = {**_build_positives(clips, "positives", talkers, out_dir, rng), "texts": texts,
            "source": f"{os.path.relpath(shard_dir(wake_word), REPO_ROOT)}/pos_dev_*.npz "
                      "(Kokoro dev voices, held out from training)"}
    meta["streams"]["positives"] = dict(info)
    meta["streams"]["positives_noisy"] = {**info, "snr_db": NOISY_SNR_DB}

    real, labels, speakers = _real_positive_clips(wake_word)
    if real:
        log(f"building real positive streams: {len(real)} recordings of {wake_word!r} (clean and 10 dB SNR)")
        # Its own generator, so that whether these exist changes nothing in the other streams.
        info = {**_build_positives(real, "positives_real", talkers, out_dir, np.random.default_rng([sizes.seed, 1])),
                "texts": labels, "speakers": speakers,
                "source": f"shared/data recordings labelled {sorted(set(labels))} (models/recipe/real_data.py, "
                          "train and dev splits; never trained on)"}
        meta["streams"]["positives_real"] = dict(info)
        meta["streams"]["positives_real_noisy"] = {**info, "snr_db": NOISY_SNR_DB}
    else:
        log(f"no real recordings of {wake_word!r}: no real positive streams")

    log("building dev speech stream")
    order = rng.permutation(len(speech))  # shuffled, so a partial stream still spans many speakers
    meta["streams"]["speech"] = _build_negative(
        "speech", _take_hours(speech.clips(order), sizes.speech_hours), out_dir, rng,
        f"shared/data speech + wakeword-other less {wake_word!r} itself, models/recipe/real_data.py dev split")

    log("building music stream")
    try:
        music = _music_clips(sizes.music_hours)
        meta["streams"]["music"] = _build_negative("music", music, out_dir, rng, f"Debian wesnoth-1.16-music ({MUSIC_DIR})")
    except (FileNotFoundError, ImportError) as exc:
        log(f"music stream skipped: {exc}")
        meta["music_skipped"] = str(exc)

    log("building noise stream")
    noise = _dev_clips(("noise",))
    order = rng.permutation(len(noise))
    meta["streams"]["noise"] = _build_negative(
        "noise", _take_hours(noise.clips(order), sizes.noise_hours), out_dir, rng,
        "shared/data ESC-10 + room tone, dev split")

    log("building Debian speech stream")
    from models.recipe import debian_speech

    extra = debian_speech.load("dev")
    if extra is None:
        log("Debian speech stream skipped: no dev package of models/recipe/debian_speech.py is installed")
        meta["debian_speech_skipped"] = "no dev package of models/recipe/debian_speech.py is installed"
    else:
        extra_rng = np.random.default_rng([sizes.seed, 2])
        order = extra_rng.permutation(len(extra))
        meta["streams"]["debian_speech"] = _build_negative(
            "debian_speech", _take_hours(extra.clips(order), sizes.speech_hours), out_dir, extra_rng,
            "Debian packages, dev split (models/recipe/debian_speech.py): " + ", ".join(dict.fromkeys(extra.labels)))

    for info in meta["streams"].values():
        info["hours"] = info["samples"] / RATE / 3600
    with open(out_dir / "streams.json.tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(out_dir / "streams.json.tmp", out_dir / "streams.json")
    return out_dir


def load_meta(stream_dir: Path) -> dict:
    """streams.json; caches built before the wake word was a parameter are alexa's."""
    with open(Path(stream_dir) / "streams.json") as f:
        meta = json.load(f)
    meta.setdefault("wake_word", DEFAULT_WAKE_WORD)
    return meta
