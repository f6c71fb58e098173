"""Streaming log-mel front-end.

The same code computes features for training (``LogMel.batch``) and on the device
(``LogMel.push``), so a model never sees features the runtime would not produce.
Each input sample is consumed exactly once; only ``win - hop`` samples of history
are kept between calls.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from .errors import ModelError


@dataclass(frozen=True)
class FeatureConfig:
    """Log-mel parameters; stored as JSON in each model's metadata."""

    type: str = "logmel"
    sample_rate: int = 16000
    win: int = 400  # 25 ms
    hop: int = 160  # 10 ms
    n_fft: int = 512
    n_mels: int = 40
    fmin: float = 60.0
    fmax: float = 7600.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FeatureConfig":
        try:
            raw = json.loads(text)
            config = cls(**raw)
        except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: JSON nested too deeply
            raise ModelError(f"bad feature config in model metadata: {str(exc)[:200]!r}") from None
        for name, expected in (("type", str), ("sample_rate", int), ("win", int), ("hop", int), ("n_fft", int),
                               ("n_mels", int), ("fmin", (int, float)), ("fmax", (int, float))):
            value = getattr(config, name)
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ModelError(f"bad feature config in model metadata: {name} is {str(value)[:40]!r}")
        if not (1000 <= config.sample_rate <= 384000 and config.n_fft <= 65536 and config.n_mels <= 1024):
            raise ModelError(f"feature config out of range (sample_rate, n_fft ≤ 65536, n_mels ≤ 1024): {config}")
        if config.type != "logmel":
            raise ModelError(f"unsupported feature type {config.type!r} (only 'logmel')")
        if not (0 < config.hop <= config.win <= config.n_fft) or config.n_mels < 1:
            raise ModelError(f"inconsistent feature config: {config}")
        if not (0 <= config.fmin < config.fmax <= config.sample_rate / 2):
            raise ModelError(f"inconsistent mel band in feature config: {config}")
        return config


def mel_filterbank(config: FeatureConfig) -> np.ndarray:
    """Triangular HTK-style mel filters, shape (n_fft // 2 + 1, n_mels)."""

    def hz_to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def mel_to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    edges_hz = mel_to_hz(np.linspace(hz_to_mel(config.fmin), hz_to_mel(config.fmax), config.n_mels + 2))
    bins_hz = np.linspace(0.0, config.sample_rate / 2, config.n_fft // 2 + 1)
    lower, centre, upper = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (bins_hz[:, None] - lower) / (centre - lower)
    falling = (upper - bins_hz[:, None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


# Floor on the mel energy; int16 full scale is 1.0, so this sits below a 16-bit noise floor.
_LOG_FLOOR = 1e-10


class LogMel:
    """Turns 16-bit audio into log-mel frames, incrementally."""

    def __init__(self, config: FeatureConfig = FeatureConfig()):
        self.config = config
        self._window = np.hanning(config.win + 1)[:-1].astype(np.float32)  # periodic Hann
        self._filters = mel_filterbank(config)
        self._history = config.win - config.hop
        self._pending = np.zeros(0, dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        """Forget all audio: the next frame starts from silence."""
        self._pending = np.zeros(self._history, dtype=np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Consume int16 samples; return the complete frames they finish, shape (n, n_mels)."""
        audio = np.concatenate((self._pending, samples.astype(np.float32) * (1.0 / 32768.0)))
        n_frames = max(0, (len(audio) - self._history) // self.config.hop)
        consumed = n_frames * self.config.hop
        self._pending = audio[consumed:]
        if n_frames == 0:
            return np.zeros((0, self.config.n_mels), dtype=np.float32)
        return self._frames(audio[: consumed + self._history], n_frames)

    def batch(self, samples: np.ndarray) -> np.ndarray:
        """Features of a whole clip, identical to pushing it in pieces after ``reset()``."""
        audio = np.concatenate((np.zeros(self._history, np.float32), samples.astype(np.float32) / 32768.0))
        n_frames = (len(audio) - self._history) // self.config.hop
        if n_frames <= 0:
            return np.zeros((0, self.config.n_mels), dtype=np.float32)
        return self._frames(audio, n_frames)

    def _frames(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        cfg = self.config
        frames = np.lib.stride_tricks.as_strided(
            audio, shape=(n_frames, cfg.win), strides=(audio.strides[0] * cfg.hop, audio.strides[0])
        )
        spectrum = np.fft.rfft(frames * self._window, n=cfg.n_fft)
        power = spectrum.real**2 + spectrum.imag**2
        return np.log(power.astype(np.float32) @ self._filters + _LOG_FLOOR)
