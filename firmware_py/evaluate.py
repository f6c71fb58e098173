"""Replaying labelled fixtures through the runtime's own detector and counting what it got right.

Each file is scored by exactly the code ``wakegate run`` uses (same blocks, same front-end, same
models, same post-processing), so eval and run agree on every detection. Files are independent, so
they fan out over any ``concurrent.futures.Executor``: a local process pool, or a Dask cluster's
``Client.get_executor()``. Results are put back in file order, so the report never depends on it.

Counting (the field's usual protocol):
- a labelled wake word is detected if a detection of that wake word falls in [start, end + hit window];
  latency is that detection's time minus the end of the wake word;
- any other detection is a false accept; false accepts per hour divide by the audio outside the hit
  windows of that wake word; after a detection the wake word is silent for the refractory period.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .config import Settings
from .detector import fire_frames
from .fixtures import FixtureFile

SWEEP = tuple(round(t, 2) for t in np.arange(0.01, 1.0, 0.01))


@dataclass(frozen=True)
class EvalSettings:
    hit_window_s: float = 1.0  # a detection up to this long after the wake word's end still counts
    sweep: tuple[float, ...] = SWEEP


@dataclass
class WakeWordCounts:
    """Counts for one wake word at one threshold, over one or many files."""

    positives: int = 0
    detected: int = 0
    false_accepts: int = 0
    negative_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)

    def add(self, other: "WakeWordCounts") -> None:
        self.positives += other.positives
        self.detected += other.detected
        self.false_accepts += other.false_accepts
        self.negative_s += other.negative_s
        self.latencies_s += other.latencies_s


@dataclass
class FileResult:
    name: str
    duration_s: float
    detections: list[dict]  # at the operating threshold, as `wakegate detect` prints them
    operating: dict[str, WakeWordCounts]
    sweep: dict[str, list[WakeWordCounts]]  # per wake word, one entry per sweep threshold
    cpu_s: float = 0.0


# -- one file ------------------------------------------------------------------------------------

_worker_cache = threading.local()  # a detector keeps streaming state: one per worker thread


def _detector_for(settings: Settings):
    """One detector per worker and settings: models load once per worker, not once per file."""
    from .detector import load_detector

    key = repr(settings)
    if getattr(_worker_cache, "key", None) != key:
        m = settings.models
        _worker_cache.detector = load_detector(m.models, m.threads, settings.detector, m.allow_unsigned, m.trusted_keys)
        _worker_cache.key = key
    detector = _worker_cache.detector
    detector.reset()
    return detector


def file_scores(fixture: FixtureFile, settings: Settings):
    """Run one file through the runtime's detector: (detector, duration, detections, {wake word: scores})."""
    from .audio_in import file_blocks

    detector = _detector_for(settings)
    scores: dict[str, list[np.ndarray]] = {m.wake_word: [] for m in detector.models}
    detections = []
    samples = 0
    for block in file_blocks(fixture.path, settings.audio.block_samples):
        found, blocks = detector.process(block, with_scores=True)
        samples += len(block)
        for b in blocks:
            scores[b.wake_word].append(b.scores)
        detections += [
            {"wake_word": d.wake_word, "time_s": round(d.time_s, 3), "score": round(d.score, 4)} for d in found
        ]
    joined = {w: np.concatenate(s) if s else np.zeros(0) for w, s in scores.items()}
    return detector, samples / detector.sample_rate, detections, joined


def score_file(fixture: FixtureFile, settings: Settings, eval_settings: EvalSettings) -> FileResult:
    import time

    cpu_start = time.process_time()
    detector, duration_s, detections, scores = file_scores(fixture, settings)
    operating, sweep = {}, {}
    for runner in detector.runners:
        info = runner.info
        smoothed = scores[info.wake_word]
        times = (np.arange(len(smoothed)) + 1) * (info.features.hop / info.features.sample_rate)
        windows = [(u.start_s, u.end_s + eval_settings.hit_window_s, u.end_s) for u in fixture.utterances if u.wake_word == info.wake_word]
        refractory = runner.post.refractory_frames

        def count(threshold: float, keep_latency: bool) -> WakeWordCounts:
            fired = times[fire_frames(smoothed, threshold, refractory)]
            return _match(fired, windows, duration_s, keep_latency)

        operating[info.wake_word] = count(runner.threshold, True)
        sweep[info.wake_word] = [count(t, False) for t in eval_settings.sweep]
    return FileResult(fixture.name, duration_s, detections, operating, sweep, time.process_time() - cpu_start)


def _match(fired: np.ndarray, windows: list[tuple[float, float, float]], duration_s: float, keep_latency: bool) -> WakeWordCounts:
    counts = WakeWordCounts(positives=len(windows))
    in_some_window = np.zeros(len(fired), dtype=bool)
    for start, stop, end in windows:
        inside = (fired >= start) & (fired <= stop)
        in_some_window |= inside
        if inside.any():
            counts.detected += 1
            if keep_latency:
                counts.latencies_s.append(float(fired[inside][0] - end))
    counts.false_accepts = int((~in_some_window).sum())
    counts.negative_s = max(0.0, duration_s - _union_length([(s, min(e, duration_s)) for s, e, _ in windows]))
    return counts


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, -np.inf
    for start, stop in sorted(spans):
        if stop <= reach:
            continue
        total += stop - max(start, reach)
        reach = stop
    return total


# -- many files ----------------------------------------------------------------------------------


def local_executor(jobs: int) -> Executor:
    """One worker process per core; each runs onnxruntime on one thread."""
    import multiprocessing

    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))


def evaluate(
    fixtures: list[FixtureFile],
    settings: Settings,
    eval_settings: EvalSettings = EvalSettings(),
    executor: Executor | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Score every file; results in fixture order whatever the executor did."""
    if executor is None:
        results = []
        for fixture in fixtures:
            results.append(score_file(fixture, settings, eval_settings))
            if on_result:
                on_result(results[-1])
        return results
    from concurrent.futures import as_completed

    futures = {executor.submit(score_file, f, settings, eval_settings): i for i, f in enumerate(fixtures)}
    results: list[FileResult | None] = [None] * len(fixtures)
    for future in as_completed(futures):
        results[futures[future]] = future.result()
        if on_result:
            on_result(results[futures[future]])
    return results  # type: ignore[return-value]


def summarise(results: list[FileResult], thresholds: dict[str, float], eval_settings: EvalSettings) -> dict:
    """Per wake word: recall, false accepts per hour, latency, and the threshold sweep."""
    summary = {}
    for wake_word, threshold in thresholds.items():
        total = WakeWordCounts()
        sweep = [WakeWordCounts() for _ in eval_settings.sweep]
        for result in results:
            total.add(result.operating[wake_word])
            for acc, counts in zip(sweep, result.sweep[wake_word]):
                acc.add(counts)
        summary[wake_word] = {
            "threshold": round(threshold, 4),
            **_rates(total),
            "latency_s": _percentiles(total.latencies_s),
            "sweep": [{"threshold": t, **_rates(c)} for t, c in zip(eval_settings.sweep, sweep)],
        }
    return summary


def _rates(counts: WakeWordCounts) -> dict:
    hours = counts.negative_s / 3600
    recall = counts.detected / counts.positives if counts.positives else None
    return {
        "positives": counts.positives,
        "detected": counts.detected,
        "recall": None if recall is None else round(recall, 4),
        "false_reject_rate": None if recall is None else round(1 - recall, 4),
        "false_accepts": counts.false_accepts,
        "negative_hours": round(hours, 4),
        "fa_per_hour": round(counts.false_accepts / hours, 3) if hours > 0 else None,
    }


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    return {"p50": round(float(np.percentile(values, 50)), 3), "p95": round(float(np.percentile(values, 95)), 3), "n": len(values)}


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
