"""Hard-negative mining: the moments of training-split negative audio the model still fires on.

Real negatives are drawn at random, so a few seconds that sound like the wake word are seen once in a
while among hours that do not. Every few epochs the model in training scores all of them (speech,
noise, music: never a dev recording), and excerpts ending just after its highest-scoring moments
become a pool of their own that a tenth of the training windows come from (dataset.ExampleMaker.MIX).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import evaluate
from .augment import HOP, SAMPLE_RATE
from .dataset import FeatureConfig

# Every MINE_EVERY epochs, the MINE_LIMIT highest-scoring moments of the training negatives that reach
# MINE_MIN_SCORE are mined; the pool keeps the HARD_POOL newest. Here, not in train.py, so that the card
# and make's help can say it without importing the trainer.
MINE_EVERY, MINE_MIN_SCORE, MINE_LIMIT, HARD_POOL = 3, 0.2, 1000, 3000


@dataclass(frozen=True)
class HardNegative:
    audio: np.ndarray  # the excerpt (a view of the stream)
    peak: int  # sample in `audio` where the frame that fired ends
    score: float
    source: tuple[int, int]  # (stream, 2-second slot): the same moment mined twice is one entry


class Miner:
    """Scores fixed streams of negative audio with the current model; their features are computed once.

    Each stream is scored as one continuous recording, as the evaluation and the device do: a short clip
    scored on its own starts from the model's zero padding, and scores far lower than the same clip
    heard after other sound (on one model, no moment of 3.7 h of clips reached 0.7 alone; 28 did in a
    stream).
    """

    def __init__(self, streams: list[np.ndarray], config: FeatureConfig, context_frames: int,
                 before_s: float = 1.5, after_s: float = 0.3, chunk_frames: int = 60000):
        self.streams = streams
        self.features = [evaluate.stream_features(config, stream) for stream in streams]
        self.context, self.chunk = context_frames, chunk_frames
        self.before, self.after = int(before_s * SAMPLE_RATE), int(after_s * SAMPLE_RATE)

    @property
    def hours(self) -> float:
        return sum(len(s) for s in self.streams) / SAMPLE_RATE / 3600

    def scores(self, score: Callable[[np.ndarray], np.ndarray], index: int) -> np.ndarray:
        """Per-frame scores of one stream, in chunks that each start with the model's receptive field."""
        features, parts = self.features[index], []
        for start in range(0, len(features), self.chunk):
            lo = max(0, start - self.context)
            parts.append(score(features[lo : start + self.chunk])[start - lo :])
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def mine(self, score: Callable[[np.ndarray], np.ndarray], min_score: float, limit: int) -> list[HardNegative]:
        """Up to `limit` events (runtime rule: threshold, then refractory) reaching `min_score`, by peak score.

        `score` maps features (T, n_mels) to per-frame probabilities (T,), each frame seeing only the past.
        """
        events = []
        for index in range(len(self.streams)):
            scores = self.scores(score, index)
            for crossing in evaluate.detections(scores, min_score):
                # The event's worst moment, up to where the runtime's refractory period would end it.
                peak = crossing + int(np.argmax(scores[crossing : crossing + evaluate.REFRACTORY_FRAMES + 1]))
                events.append((float(scores[peak]), index, peak))
        events.sort(key=lambda e: -e[0])
        mined = []
        for value, index, frame in events[:limit]:
            stream, end = self.streams[index], (frame + 1) * HOP
            start = max(0, end - self.before)
            mined.append(HardNegative(stream[start : end + self.after], end - start, value,
                                      (index, frame // evaluate.REFRACTORY_FRAMES)))
        return mined


def merge(pool: list[HardNegative], mined: list[HardNegative], limit: int) -> list[HardNegative]:
    """Newly mined moments replace older entries of the same moment; the pool keeps the `limit` newest.

    Older entries stay (the model that no longer fires on them must not forget them) until newer
    ones crowd them out.
    """
    fresh = {h.source for h in mined}
    return (mined + [h for h in pool if h.source not in fresh])[:limit]
