"""Energy voice-activity detection relative to the room's own noise floor.

Good enough to find where a spoken command ends; it never decides whether audio may leave
(only a wake-word detection does that), only how short the clip can be.
"""

from __future__ import annotations

import numpy as np


def frame_levels_db(samples: np.ndarray, frame: int) -> np.ndarray:
    """RMS level in dBFS of each complete ``frame``-sample frame."""
    n = len(samples) // frame
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    x = samples[: n * frame].astype(np.float32).reshape(n, frame) * (1.0 / 32768.0)
    return 10.0 * np.log10(np.mean(x * x, axis=1) + 1e-12)


class EnergyVad:
    """Speech = frames louder than the noise floor by ``margin_db`` and above ``min_level_db``."""

    def __init__(self, frame: int, margin_db: float = 12.0, min_level_db: float = -55.0):
        self.frame = frame
        self.margin_db = margin_db
        self.min_level_db = min_level_db
        self.floor_db = -90.0
        self._carry = np.zeros(0, dtype=np.int16)

    def calibrate(self, background: np.ndarray) -> None:
        """Estimate the noise floor from audio heard before the wake word (its quietest tenth)."""
        levels = frame_levels_db(background, self.frame)
        self.floor_db = float(np.percentile(levels, 10)) if len(levels) else -90.0
        self._carry = np.zeros(0, dtype=np.int16)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """One bool per frame completed by these samples: is it speech?"""
        audio = np.concatenate((self._carry, samples)) if len(self._carry) else samples
        n = len(audio) // self.frame
        self._carry = audio[n * self.frame :].copy()
        levels = frame_levels_db(audio[: n * self.frame], self.frame)
        return (levels > self.floor_db + self.margin_db) & (levels > self.min_level_db)
