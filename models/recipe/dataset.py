"""Training examples: augmented windows → log-mel features (firmware_py.features) and per-frame labels."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from .augment import HOP, WindowMaker, simulated_rooms, trim_silence
from .paths import REPO_ROOT

sys.path.insert(0, REPO_ROOT)
from firmware_py.features import FeatureConfig, LogMel  # noqa: E402

# The front-end every model of this recipe is trained, evaluated and exported with. Mel bands stop at
# 4 kHz: most of the real negative speech here is telephone audio (nothing above 4 kHz) while every
# synthetic clip is full band, so any band above 4 kHz would teach "full band = wake word" and turn
# full-band real sound (music, a 16 kHz talker) into false accepts.
FEATURES = FeatureConfig(fmax=4000.0)

# Frames labelled "wake word" around its end: from 50 ms before to 250 ms after. Frames earlier in a
# positive window are masked (the word is still being spoken); later ones too (the model may keep
# firing: the runtime's refractory period absorbs that).
TARGET_BEFORE_END = 5
TARGET_AFTER_END = 25


@dataclass
class Pools:
    positives: list[np.ndarray]  # wake-word clips (TTS)
    tts_negatives: list[np.ndarray]  # confusable phrases and sentences (TTS)
    real_speech: list[np.ndarray]  # real speech and other wake words (train speakers)
    noises: list[np.ndarray]  # environmental noise and room tone (train recordings)
    hard_negatives: list = field(default_factory=list)  # hard_negatives.HardNegative, mined during training


class ExampleMaker:
    """Draws a balanced mix of positive and negative windows; fixed seed, fresh augmentation every call."""

    # Share of each window type in a batch; real speech dominates the negatives because that is what
    # the device hears most, hard TTS confusables teach the fine distinctions.
    # Truncated positives ("alex-", "ale-") teach the model to wait for the whole word.
    # Mined hard negatives take their share from real speech, and fall back to it while none are mined.
    MIX = {"positive": 0.35, "tts_negative": 0.24, "truncated_positive": 0.05, "real_speech": 0.18,
           "hard_negative": 0.10, "background": 0.08}

    def __init__(self, pools: Pools, window_s: float, seed: int, tempo_changes: bool = False):
        self.pools = pools
        self.seed = seed
        self.windows = WindowMaker(window_s, pools.noises, pools.real_speech, pools.tts_negatives, None,
                                   simulated_rooms(seed), tempo_changes)
        self.reseed(seed)
        self.frontend = LogMel(FEATURES)
        self.n_frames = int(window_s * 16000) // HOP

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.windows.rng = self.rng

    def _pick(self, pool: list[np.ndarray]) -> np.ndarray:
        return pool[int(self.rng.integers(len(pool)))]

    def example(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(features (T, 40), targets (T,), weights (T,), is_positive)."""
        kind = self.rng.choice(list(self.MIX), p=list(self.MIX.values()))
        targets = np.zeros(self.n_frames, np.float32)
        weights = np.ones(self.n_frames, np.float32)
        if kind == "positive":
            audio, word_end = self.windows.positive(self._pick(self.pools.positives))
            end_frame = -(-word_end // HOP) - 1  # first frame whose audio reaches the word's end
            lo, hi = max(0, end_frame - TARGET_BEFORE_END), min(self.n_frames, end_frame + TARGET_AFTER_END + 1)
            weights[:] = 0.0
            targets[lo:hi] = 1.0
            weights[lo:hi] = 1.0
        elif kind == "tts_negative":
            audio = self.windows.negative(self._pick(self.pools.tts_negatives))
        elif kind == "truncated_positive":
            word = trim_silence(self._pick(self.pools.positives))
            audio = self.windows.negative(word[: int(len(word) * self.rng.uniform(0.3, 0.6))])
        elif kind == "hard_negative" and self.pools.hard_negatives:
            hard = self._pick(self.pools.hard_negatives)
            audio = self.windows.hard_negative(hard.audio, hard.peak)
        elif kind in ("real_speech", "hard_negative"):
            audio = self.windows.negative(self._pick(self.pools.real_speech))
        else:
            audio = self.windows.negative(None)
        features = self.frontend.batch(audio)[: self.n_frames]
        return features, targets, weights, kind == "positive"

    def batch(self, size: int):
        items = [self.example() for _ in range(size)]
        return (np.stack([i[0] for i in items]), np.stack([i[1] for i in items]),
                np.stack([i[2] for i in items]), np.array([i[3] for i in items]))
