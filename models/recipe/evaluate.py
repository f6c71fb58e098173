"""Held-out evaluation and threshold calibration, streaming the exported ONNX file exactly as the device does.

Detection rule = firmware_py.detector with smoothing_frames=1: a frame fires when score ≥ threshold,
then the wake word is blocked for 2 s (200 frames).
"""

from __future__ import annotations

import sys
import zlib

import numpy as np

from . import augment
from .paths import REPO_ROOT
from .real_data import ClipSet

sys.path.insert(0, REPO_ROOT)
from firmware_py.features import FeatureConfig, LogMel  # noqa: E402

HOP = 160
# Frames per model call, as on the device (wakegate.step_frames): 160 ms. onnxruntime's cost is mostly per
# call, so one call per 160 ms costs about half of one per 80 ms (README); a detection may come that much later.
STEP_FRAMES = 16
REFRACTORY_FRAMES = 200  # 2.0 s, firmware_py's DetectorSettings.refractory_s default
EVAL_LEVEL_DBFS = -26.0  # active speech level of evaluation positives


def model_features(session) -> FeatureConfig:
    """The front-end the session's model was trained with (from its metadata)."""
    return FeatureConfig.from_json(session.get_modelmeta().custom_metadata_map["wakegate.features"])


def stream_features(config: FeatureConfig, audio: np.ndarray, chunk_s: float = 60.0) -> np.ndarray:
    """Log-mel of a long stream, pushed in chunks (identical to one batch call, less memory)."""
    frontend = LogMel(config)
    step = int(chunk_s * 16000)
    return np.concatenate([frontend.push(audio[i : i + step]) for i in range(0, len(audio), step)])


def detections(scores: np.ndarray, threshold: float) -> list[int]:
    """Frame indices that fire, with the runtime's refractory period."""
    fired, blocked_until = [], 0
    for frame in np.flatnonzero(scores >= threshold):
        if frame >= blocked_until:
            fired.append(int(frame))
            blocked_until = frame + 1 + REFRACTORY_FRAMES
    return fired


def _with_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x.astype(np.float32) * (32768 * 10 ** (dbfs / 20) / (augment.active_rms(x) + 1e-9))


def phone_line(x: np.ndarray, low_hz: float = 300.0, high_hz: float = 3400.0) -> np.ndarray:
    """What a phone line passes (300–3400 Hz by default): a 4th-order Butterworth band-pass.

    An evaluation condition only: as a training augmentation it was tried and not kept (the README).
    """
    from scipy.signal import butter, sosfilt  # scipy comes with the train extra

    return sosfilt(butter(4, [low_hz, high_hz], btype="bandpass", fs=16000, output="sos"), x).astype(np.float32)


def positive_peak_scores(session, clips: list[np.ndarray], noise: np.ndarray | None, snr_db: float,
                         seed: int = 0) -> np.ndarray:
    """Highest score from the clip's start to 1 s after its end; the word has 1 s of lead-in.

    From the start, not from shortly before the end: a real recording keeps its room noise, so trimming
    does not find where the word stops, and the word may end a second before the clip does.

    `noise` (a long dev noise stream) is added at `snr_db` below the word's active level; without it a
    faint hiss (60 dB down) stands in for a quiet room.
    """
    rng = np.random.default_rng(seed)
    config = model_features(session)
    peaks = []
    for clip in clips:
        word = _with_level(augment.trim_silence(clip), EVAL_LEVEL_DBFS)
        lead, tail = 16000, 16000
        audio = np.concatenate((np.zeros(lead, np.float32), word, np.zeros(tail, np.float32)))
        if noise is not None:
            background = augment.random_excerpt(rng, noise, len(audio))
            audio += _with_level(background, EVAL_LEVEL_DBFS - snr_db)
        else:
            audio += rng.standard_normal(len(audio)).astype(np.float32) * 32768 * 10 ** ((EVAL_LEVEL_DBFS - 60) / 20)
        scores = stream_scores(session, stream_features(config, np.clip(audio, -32768, 32767).astype(np.int16)))
        end_frame = (lead + len(word)) // HOP
        peaks.append(float(scores[lead // HOP : end_frame + 100].max()))
    return np.array(peaks)


def clip_peak_scores(session, clips: list[np.ndarray]) -> np.ndarray:
    """Highest score over each (negative) clip, each streamed on its own after 0.5 s of silence."""
    config = model_features(session)
    peaks = []
    for clip in clips:
        audio = np.concatenate((np.zeros(8000, np.int16), clip, np.zeros(8000, np.int16)))
        peaks.append(float(stream_scores(session, stream_features(config, audio)).max()))
    return np.array(peaks)


class NegativeStream:
    """Dev clips concatenated into one continuous stream; detections map back to the clip they fell in."""

    def __init__(self, session, clips: ClipSet, name: str):
        self.name = name
        self.clips = clips
        self.scores = stream_scores(session, stream_features(model_features(session), clips.audio))
        self.hours = len(clips.audio) / 16000 / 3600

    def false_accepts(self, threshold: float) -> dict:
        fired = detections(self.scores, threshold)
        clip_index = np.searchsorted(self.clips.offsets, (np.array(fired, dtype=np.int64) + 1) * HOP, side="left") - 1
        by_label: dict[str, int] = {}
        for i in clip_index:
            label = str(self.clips.labels[max(0, i)])
            by_label[label] = by_label.get(label, 0) + 1
        labels, counts = np.unique(self.clips.labels[self.clips.labels != "none"], return_counts=True)
        return {"stream": self.name, "hours": round(self.hours, 3), "false_accepts": len(fired),
                "fa_per_hour": round(len(fired) / max(self.hours, 1e-9), 2), "by_label": by_label,
                "clips": len(self.clips), "wake_word_clips_by_label": {str(k): int(v) for k, v in zip(labels, counts)}}


def calibration_half(speakers: np.ndarray) -> np.ndarray:
    """Half of the dev speakers (by hash) calibrate the threshold; the other half only reports."""
    return np.array([zlib.crc32(s.encode()) % 2 == 0 and not s.startswith("contributor-") for s in speakers])


def pick_threshold(calibration_scores: np.ndarray, margin_logit: float = 0.5, lo: float = 0.3, hi: float = 0.98) -> float:
    """Just above the highest score on the calibration stream (zero false accepts), plus a margin in logit space."""
    top = float(np.clip(calibration_scores.max(), 1e-6, 1 - 1e-6))
    logit = np.log(top / (1 - top)) + margin_logit
    return float(np.clip(1 / (1 + np.exp(-logit)), lo, hi))


def stream_scores(session, features: np.ndarray, step: int = STEP_FRAMES) -> np.ndarray:
    """Scores for (T, n_mels) features, fed `step` frames per call with the state carried, as on the device.

    A trailing partial step is dropped, as the runtime does until more frames arrive.
    """
    inputs = [i for i in session.get_inputs() if i.name.startswith("state_")]
    states = {i.name: np.zeros(i.shape, np.float32) for i in inputs}
    out_names = ["scores"] + [i.name + "_out" for i in inputs]
    scores = []
    for start in range(0, len(features) - step + 1, step):
        outs = session.run(out_names, {"features": features[None, start : start + step], **states})
        scores.append(outs[0][0])
        states = {i.name: o for i, o in zip(inputs, outs[1:])}
    return np.concatenate(scores) if scores else np.zeros(0, np.float32)
