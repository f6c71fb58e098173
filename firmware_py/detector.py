"""Wake-word detection: features → models → smoothed scores → detections.

``Detector.process`` takes 16 kHz int16 audio in blocks of any size and reports what the models
scored and when a wake word fired. Times are audio time (sample counts), never the wall clock,
so replaying the same audio always gives the same detections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError
from .features import FeatureConfig, LogMel
from .model import StreamingModel, load_model


@dataclass(frozen=True)
class DetectorSettings:
    threshold: float | None = None  # None: each model's own calibrated default
    thresholds: dict[str, float] = field(default_factory=dict)  # per wake word, wins over `threshold`
    smoothing_frames: int = 1  # moving average of the raw scores; 1 = none
    refractory_s: float = 2.0  # after a detection, the same wake word cannot fire again for this long

    def __post_init__(self):
        if self.smoothing_frames < 1:
            raise ConfigError("detector.smoothing_frames must be at least 1")
        if self.refractory_s < 0:
            raise ConfigError("detector.refractory_s must not be negative")
        for value in [self.threshold, *self.thresholds.values()]:
            if value is not None and not 0.0 < value <= 1.0:
                raise ConfigError(f"threshold {value} must be in (0, 1]")


@dataclass(frozen=True)
class Detection:
    wake_word: str
    sample_index: int  # end of the audio the model had consumed when it fired
    time_s: float
    score: float
    model_version: str


@dataclass(frozen=True)
class ScoreBlock:
    """Smoothed scores of one model for consecutive frames; frame i ends at ``end_times_s[i]``."""

    wake_word: str
    end_times_s: np.ndarray
    scores: np.ndarray


def fire_frames(scores: np.ndarray, threshold: float, refractory_frames: int, first_allowed: int = 0) -> np.ndarray:
    """Frames whose score reaches the threshold, each followed by ``refractory_frames`` that cannot fire.

    Jumps from one firing to the next with a binary search, so its cost is the number of detections,
    not the number of frames above the threshold.
    """
    above = np.flatnonzero(scores >= threshold)
    fired = []
    i = int(np.searchsorted(above, first_allowed))
    while i < len(above):
        frame = int(above[i])
        fired.append(frame)
        i = int(np.searchsorted(above, frame + 1 + refractory_frames))
    return np.array(fired, dtype=np.int64)


class ScorePostProcessor:
    """Smoothing, threshold and refractory period over one model's per-frame scores (pure)."""

    def __init__(self, threshold: float, smoothing_frames: int, refractory_frames: int):
        self.threshold = threshold
        self.smoothing_frames = smoothing_frames
        self.refractory_frames = refractory_frames
        self.reset()

    def reset(self) -> None:
        self._recent = np.zeros(self.smoothing_frames - 1, dtype=np.float64)
        self._frames_seen = 0
        self._blocked_until = 0  # frame index before which no detection may fire

    def process(self, raw: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """Smoothed scores for ``raw`` and the block-relative frame indices that fire."""
        n = self.smoothing_frames
        if n > 1:
            padded = np.concatenate((self._recent, raw))
            sums = np.cumsum(padded)
            sums[n:] = sums[n:] - sums[:-n]
            smoothed = sums[n - 1 :] / n
            self._recent = padded[-(n - 1) :]
        else:
            smoothed = raw.astype(np.float64)
        fired = fire_frames(smoothed, self.threshold, self.refractory_frames, self._blocked_until - self._frames_seen)
        if len(fired):
            self._blocked_until = self._frames_seen + int(fired[-1]) + 1 + self.refractory_frames
        self._frames_seen += len(raw)
        return smoothed, [int(i) for i in fired]


class _ModelRunner:
    """One model, its feature queue, and its post-processing."""

    def __init__(self, model: StreamingModel, settings: DetectorSettings):
        info = model.info
        self.model = model
        self.info = info
        self.threshold = settings.thresholds.get(
            info.wake_word, settings.threshold if settings.threshold is not None else info.threshold
        )
        hop_s = info.features.hop / info.features.sample_rate
        self.post = ScorePostProcessor(
            self.threshold, settings.smoothing_frames, int(round(settings.refractory_s / hop_s))
        )
        self._queue = np.zeros((0, info.features.n_mels), dtype=np.float32)
        self.frames_scored = 0

    def reset(self) -> None:
        self.model.reset()
        self.post.reset()
        self._queue = self._queue[:0]
        self.frames_scored = 0

    def process(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Score whole model steps of queued features; returns (frame indices, smoothed, fired)."""
        queue = np.concatenate((self._queue, features)) if len(self._queue) else features
        step = self.info.step_frames
        n_steps = len(queue) // step
        self._queue = queue[n_steps * step :]
        if n_steps == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0), []
        raw = self.model.step(queue[: n_steps * step])  # one call for every whole step: fewer, bigger calls
        smoothed, fired = self.post.process(raw)
        frames = np.arange(self.frames_scored, self.frames_scored + len(raw))
        self.frames_scored += len(raw)
        return frames, smoothed, fired


class Detector:
    """Runs every loaded model on one audio stream; models with equal feature configs share features."""

    def __init__(self, models: list[StreamingModel], settings: DetectorSettings = DetectorSettings()):
        if not models:
            raise ConfigError("at least one wake-word model is needed")
        names = [m.info.wake_word for m in models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"two models detect the same wake word: {', '.join(duplicates)}")
        rates = {m.info.sample_rate for m in models}
        if len(rates) != 1:
            raise ConfigError(f"models disagree on the sample rate: {sorted(rates)}")
        unknown = sorted(set(settings.thresholds) - set(names))
        if unknown:
            raise ConfigError(f"thresholds given for wake words no model detects: {', '.join(unknown)}")
        self.sample_rate = rates.pop()
        self.settings = settings
        self._frontends: dict[FeatureConfig, LogMel] = {}
        self.runners: list[_ModelRunner] = []
        for model in models:
            self._frontends.setdefault(model.info.features, LogMel(model.info.features))
            self.runners.append(_ModelRunner(model, settings))

    @property
    def models(self):
        return [r.info for r in self.runners]

    @property
    def latency_samples(self) -> int:
        """How far a detection can trail the newest audio: up to one model step plus a frame."""
        return max((r.info.step_frames + 1) * r.info.features.hop for r in self.runners)

    def reset(self) -> None:
        for frontend in self._frontends.values():
            frontend.reset()
        for runner in self.runners:
            runner.reset()

    def process(self, samples: np.ndarray, with_scores: bool = False) -> tuple[list[Detection], list[ScoreBlock]]:
        features = {config: frontend.push(samples) for config, frontend in self._frontends.items()}
        detections: list[Detection] = []
        blocks: list[ScoreBlock] = []
        for runner in self.runners:
            cfg = runner.info.features
            frames, smoothed, fired = runner.process(features[cfg])
            if not len(frames):
                continue
            end_samples = (frames + 1) * cfg.hop  # frame i ends after sample (i + 1) * hop
            for i in fired:
                detections.append(
                    Detection(
                        wake_word=runner.info.wake_word,
                        sample_index=int(end_samples[i]),
                        time_s=float(end_samples[i]) / cfg.sample_rate,
                        score=float(smoothed[i]),
                        model_version=runner.info.version,
                    )
                )
            if with_scores:
                blocks.append(ScoreBlock(runner.info.wake_word, end_samples / cfg.sample_rate, smoothed))
        detections.sort(key=lambda d: (d.sample_index, d.wake_word))
        return detections, blocks


def load_detector(models: tuple[str, ...] | list[str], threads: int = 1, settings: DetectorSettings = DetectorSettings(),
                  allow_unsigned: bool = False, trusted_keys: tuple[str, ...] = ()) -> Detector:
    """A detector for models given by name or path, each signed by a trusted key (or allowed unsigned)."""
    return Detector([load_model(name, threads, allow_unsigned, trusted_keys) for name in models], settings)
