"""One audio frame's path: source block → detector → gate → (only on detection) clip → sinks.

This is the whole loop a newcomer needs to read: ``Pipeline.feed`` runs once per block. The gate
is the only producer of ``Clip`` objects, and sinks only ever receive clips, so no audio can reach
a sink, a file or a log without a detection.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .detector import Detection, Detector, ScoreBlock
from .gate import Clip, Gate

log = logging.getLogger("wakegate")


@dataclass
class PipelineStats:
    samples: int = 0
    detections: int = 0
    clips: int = 0
    clip_samples: int = 0


class Pipeline:
    def __init__(
        self,
        detector: Detector,
        gate: Gate,
        on_clip: Callable[[Clip], None],
        on_detection: Callable[[Detection], None] | None = None,
        on_scores: Callable[[list[ScoreBlock]], None] | None = None,
    ):
        self.detector = detector
        self.gate = gate
        self._on_clip = on_clip
        self._on_detection = on_detection
        self._on_scores = on_scores
        self.stats = PipelineStats()

    def feed(self, block: np.ndarray) -> None:
        detections, scores = self.detector.process(block, with_scores=self._on_scores is not None)
        if self._on_scores is not None and scores:
            self._on_scores(scores)
        for detection in detections:
            self.stats.detections += 1
            if self._on_detection is not None:
                self._on_detection(detection)
        self._emit(self.gate.process(block, detections))
        self.stats.samples += len(block)

    def finish(self) -> None:
        self._emit(self.gate.finish())
        self.detector.reset()

    def run(self, blocks: Iterable[np.ndarray]) -> PipelineStats:
        try:
            for block in blocks:
                self.feed(block)
        finally:
            self.finish()
        return self.stats

    def _emit(self, clips: list[Clip]) -> None:
        for clip in clips:
            self.stats.clips += 1
            self.stats.clip_samples += len(clip.audio)
            self._on_clip(clip)


class SinkWorker:
    """Hands clips to a sink on its own thread, so the audio loop never waits for disk or network.

    ``close()`` delivers every clip already handed over before it returns: stopping the gate
    never loses a recorded clip.
    """

    def __init__(self, deliver: Callable[[Clip], object], on_done: Callable[[Clip, object], None] | None = None,
                 indicator=None, name: str = "sink"):
        self._deliver = deliver
        self._on_done = on_done
        self._indicator = indicator  # on from hand-off until the sink is done with the clip
        self._name = name
        self._queue: queue.Queue[tuple[Clip, int | None] | None] = queue.Queue()
        self.pending = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._work, name="wakegate-sink", daemon=True)
        self._thread.start()

    def submit(self, clip: Clip) -> None:
        hold = self._indicator.hold(f"{self._name}: clip handed over") if self._indicator is not None else None
        self.pending += 1
        self._queue.put((clip, hold))

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            clip, hold = item
            try:
                result = self._deliver(clip)
            except Exception as exc:  # a sink failure must not kill the loop; it is reported
                self.errors.append(f"{type(exc).__name__}: {exc}")
                log.error("%s could not take a clip: %s", self._name, exc)
                continue
            else:
                if self._on_done is not None:
                    self._on_done(clip, result)
            finally:
                self.pending -= 1
                if hold is not None:
                    self._indicator.release(hold)
