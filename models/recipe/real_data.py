"""Real recordings from shared/data (speech, other wake words, noise), split by speaker and cached at 16 kHz.

Real clips of the phrase being trained (e.g. Precise's "computer" and "hey computer") are never trained
on, neither as positives nor as negatives: they are the real-voice test of a synthetic-only model.
Everything else is a negative or background. The train/dev split is by speaker_or_session, so no dev
voice or noise recording is ever trained on. Held-out music comes from Debian's wesnoth-1.16-music.
"""

from __future__ import annotations

import csv
import glob
import os
import re
import zlib
from dataclasses import dataclass

import numpy as np
import soundfile

from .paths import MUSIC_DIR, SHARED_DATA_DIR, WORK_DIR
from .music import decode_16k
from .tts import to_int16_16k

# Precise has only 5 contributors, too few for a hash split to be fair; hold out the two whose
# wake words ("computer" by Kris Gesling, "amelia" by Jody Nickel) make the most telling dev test.
PRECISE_DEV_CONTRIBUTORS = {"contributor-kris-gesling", "contributor-jody-nickel"}
DEV_FRACTION_PERCENT = 20


@dataclass
class ClipSet:
    """Clips of one split, concatenated: clip i is audio[offsets[i]:offsets[i+1]]."""

    audio: np.ndarray
    offsets: np.ndarray
    kinds: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def clip(self, i: int) -> np.ndarray:
        return self.audio[self.offsets[i] : self.offsets[i + 1]]

    def clips(self, index=None) -> list[np.ndarray]:
        """The clips (views into `audio`): all of them, or those at `index` in its order."""
        return [self.clip(i) for i in (range(len(self)) if index is None else index)]

    @classmethod
    def from_clips(cls, clips: list[np.ndarray], kinds, labels, speakers) -> "ClipSet":
        return cls(
            np.concatenate(clips) if clips else np.zeros(0, np.int16),
            np.cumsum([0] + [len(c) for c in clips]).astype(np.int64),
            np.asarray(kinds), np.asarray(labels), np.asarray(speakers),
        )

    def select(self, mask: np.ndarray) -> "ClipSet":
        index = np.flatnonzero(mask)
        return ClipSet.from_clips(self.clips(index), self.kinds[index], self.labels[index], self.speakers[index])

    @property
    def hours(self) -> float:
        return len(self.audio) / 16000 / 3600


def says_phrase(labels: np.ndarray, phrase: str) -> np.ndarray:
    """Which clips say the phrase itself: "computer", "hey computer", WUW-II's "onword+wildfire" for
    "wildfire" (keywords joined by "+"); not "computer-partial"."""
    pattern = re.compile(rf"(^|\s){re.escape(phrase.lower())}$")
    return np.array([any(pattern.search(part) for part in str(label).lower().split("+")) for label in labels],
                    dtype=bool)


def phrase_recordings(phrase: str, *splits: ClipSet) -> list[tuple[np.ndarray, str, str]]:
    """Every real recording of the phrase in these splits, as (clip, label, speaker)."""
    return [(s.clip(i), str(s.labels[i]), str(s.speakers[i]))
            for s in splits for i in np.flatnonzero(says_phrase(s.labels, phrase))]


def is_dev(path: str, speaker: str) -> bool:
    if "/room-tone/" in path:
        # One contributor, nine clips: split by file instead of by speaker.
        return zlib.crc32(path.encode()) % 100 < 25
    if path.startswith("speech/precise/"):
        return speaker in PRECISE_DEV_CONTRIBUTORS
    return zlib.crc32(speaker.encode()) % 100 < DEV_FRACTION_PERCENT


def _cache_path(split: str) -> str:
    return os.path.join(WORK_DIR, "real", f"{split}.npz")


def build_cache() -> None:
    """Decode, resample to 16 kHz int16 and store both splits (about a minute, once)."""
    rows = {"train": [], "dev": []}
    with open(os.path.join(SHARED_DATA_DIR, "manifest.csv"), newline="") as f:
        for row in csv.DictReader(f):
            rows["dev" if is_dev(row["path"], row["speaker_or_session"]) else "train"].append(row)
    os.makedirs(os.path.dirname(_cache_path("train")), exist_ok=True)
    for split, split_rows in rows.items():
        clips = []
        for row in split_rows:
            audio, rate = soundfile.read(os.path.join(SHARED_DATA_DIR, row["path"]), dtype="float32")
            clips.append(to_int16_16k(audio, rate))
        np.savez(
            _cache_path(split),
            audio=np.concatenate(clips),
            offsets=np.cumsum([0] + [len(c) for c in clips]).astype(np.int64),
            kinds=np.array([r["kind"] for r in split_rows]),
            labels=np.array([r["label"] for r in split_rows]),
            speakers=np.array([r["speaker_or_session"] for r in split_rows]),
            paths=np.array([r["path"] for r in split_rows]),
        )


def load_split(split: str) -> ClipSet:
    """The cached 'train' or 'dev' clips (builds the cache on first use)."""
    if not os.path.exists(_cache_path(split)):
        build_cache()
    with np.load(_cache_path(split)) as z:
        return ClipSet(z["audio"], z["offsets"], z["kinds"], z["labels"], z["speakers"])


def _music_cache_path() -> str:
    return os.path.join(WORK_DIR, "real", "music_dev.npz")


def _build_music_cache() -> bool:
    """Decode all of wesnoth-1.16-music to 16 kHz once; False when the package is not installed."""
    files = sorted(glob.glob(os.path.join(MUSIC_DIR, "*.ogg")))
    if not files:
        return False
    clips, _ = decode_16k(files, skip_unreadable=False)  # held-out evaluation audio: a bad file must not shrink it
    os.makedirs(os.path.dirname(_music_cache_path()), exist_ok=True)
    np.savez(_music_cache_path(), audio=np.concatenate(clips),
             offsets=np.cumsum([0] + [len(c) for c in clips]).astype(np.int64),
             names=np.array([os.path.basename(f) for f in files]))
    return True


def ensure_cached() -> None:
    """Both splits and the held-out music decoded and cached (each once), without loading them."""
    if not all(os.path.exists(_cache_path(split)) for split in ("train", "dev")):
        build_cache()
    if not os.path.exists(_music_cache_path()):
        _build_music_cache()


def load_dev_music() -> ClipSet | None:
    """All of wesnoth-1.16-music at 16 kHz (2.1 h, cached), or None when the package is not installed."""
    if not os.path.exists(_music_cache_path()) and not _build_music_cache():
        return None
    with np.load(_music_cache_path()) as z:
        n = len(z["names"])
        return ClipSet(z["audio"], z["offsets"], np.array(["music"] * n), z["names"], np.array(["wesnoth"] * n))


if __name__ == "__main__":
    build_cache()
    for split in ("train", "dev"):
        clips = load_split(split)
        for kind in ("speech", "wakeword-other", "noise"):
            part = clips.select(clips.kinds == kind)
            print(f"{split:5s} {kind:15s} {len(part):5d} clips {part.hours:.3f} h {len(set(part.speakers))} speakers")
