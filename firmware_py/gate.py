"""The gate: the one place that decides whether audio may leave the ring buffer.

A pure state machine (no I/O, no clock): audio goes in block by block with the detections the
detector found in it, and a ``Clip`` comes out only after a detection. While listening, audio older
than the pre-roll window is overwritten with zeros as it ages out; after a clip is handed off, on mute
and on stop, the whole buffer is zeroed.

    LISTENING --detection--> CAPTURING --end of command / max length--> (clip) LISTENING
    any state --mute--> MUTED --unmute--> LISTENING
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from .detector import Detection
from .errors import ConfigError
from .ring import RingBuffer
from .vad import EnergyVad


class GateState(enum.Enum):
    LISTENING = "listening"
    CAPTURING = "capturing"
    MUTED = "muted"


@dataclass(frozen=True)
class GateSettings:
    preroll_s: float = 1.5  # audio kept from before the detection; covers the wake word itself
    max_clip_s: float = 8.0  # hard cap on a whole clip, pre-roll included
    end_silence_s: float = 0.8  # this much silence after the command ends the clip
    no_command_s: float = 3.0  # give up waiting for a command after this long
    tail_s: float = 0.3  # silence kept after the last speech
    wake_tail_s: float = 0.3  # speech this soon after the detection is the wake word's end, not the command
    vad_margin_db: float = 12.0

    def __post_init__(self):
        if not 0.0 <= self.preroll_s <= 10.0:
            raise ConfigError("gate.preroll_s must be between 0 and 10 seconds")
        if not 0.5 <= self.max_clip_s <= 60.0:
            raise ConfigError("gate.max_clip_s must be between 0.5 and 60 seconds")
        if self.preroll_s >= self.max_clip_s:
            raise ConfigError("gate.preroll_s must be shorter than gate.max_clip_s")
        for name in ("end_silence_s", "no_command_s", "tail_s", "wake_tail_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"gate.{name} must not be negative")


@dataclass(frozen=True)
class Clip:
    """Audio that the gate released after a detection; the only thing a sink ever receives."""

    audio: np.ndarray  # int16 mono, owned by the clip (a copy, never a view of the ring)
    sample_rate: int
    detection: Detection
    start_index: int  # stream sample index of audio[0]
    preroll_samples: int  # how many samples of audio precede the detection
    end_reason: str  # "silence", "max_length", "no_command", "end_of_stream"

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate


class Gate:
    def __init__(self, settings: GateSettings, sample_rate: int, detector_latency_samples: int = 0):
        self.settings = settings
        self.sample_rate = sample_rate
        self._preroll = int(round(settings.preroll_s * sample_rate))
        self._max_clip = int(round(settings.max_clip_s * sample_rate))
        # While listening, keep just enough for the pre-roll of a detection that trails the newest audio.
        self._retain = self._preroll + detector_latency_samples
        self.ring = RingBuffer(self._preroll + self._max_clip)
        self._vad_frame = sample_rate // 100
        self._vad = EnergyVad(self._vad_frame, margin_db=settings.vad_margin_db)
        self.state = GateState.LISTENING
        self._detection: Detection | None = None
        self._clip_start = 0
        self._vad_position = 0  # stream index up to which the VAD has judged audio
        self._speech_started = False
        self._last_speech_end = 0
        self.samples_discarded = 0  # audio that aged out or was dropped without ever leaving

    def process(self, block: np.ndarray, detections: list[Detection]) -> list[Clip]:
        """Take one block of audio and the detections in it; return the clips it completes."""
        if self.state is GateState.MUTED:
            self.samples_discarded += len(block)
            return []
        clips = []
        if self.state is GateState.CAPTURING:
            room = self._clip_start + self._max_clip - self.ring.written
            if len(block) > room:  # the clip reaches its maximum length inside this block
                self.ring.write(block[:room])
                clips += self._continue_capture()
                block = block[room:]
                detections = [d for d in detections if d.sample_index > self.ring.written]
        self.ring.write(block)
        if self.state is GateState.LISTENING:
            if detections:
                self._start_capture(detections[0])
            else:
                self._age_out()
                return clips
        return clips + self._continue_capture()

    def finish(self) -> list[Clip]:
        """End of stream: hand off a capture in progress, then zero the buffer."""
        clips = []
        if self.state is GateState.CAPTURING:
            clips.append(self._hand_off(self.ring.written, "end_of_stream"))
        self._discard_all()
        return clips

    def mute(self) -> None:
        """Drop everything held, including a capture in progress, and take no more audio."""
        self._discard_all()
        self.state = GateState.MUTED

    def unmute(self) -> None:
        if self.state is GateState.MUTED:
            self.state = GateState.LISTENING

    # -- listening ---------------------------------------------------------------------------

    def _age_out(self) -> None:
        cutoff = self.ring.written - self._retain
        if cutoff > self.ring.oldest:
            self.samples_discarded += cutoff - self.ring.oldest
            self.ring.zero_before(cutoff)

    def _discard_all(self) -> None:
        self.samples_discarded += self.ring.written - self.ring.oldest
        self.ring.clear()
        self._detection = None
        self.state = GateState.LISTENING

    # -- capturing ---------------------------------------------------------------------------

    def _start_capture(self, detection: Detection) -> None:
        at = min(max(detection.sample_index, self.ring.oldest), self.ring.written)
        self._clip_start = max(at - self._preroll, self.ring.oldest)
        self.samples_discarded += self._clip_start - self.ring.oldest
        self.ring.zero_before(self._clip_start)
        self._detection = detection
        self.state = GateState.CAPTURING
        self._vad.calibrate(self.ring.window(self._clip_start, at))
        self._vad_position = at
        self._speech_started = False
        self._last_speech_end = at

    def _continue_capture(self) -> list[Clip]:
        settings, rate = self.settings, self.sample_rate
        detected_at = self._detection.sample_index
        new_audio = self.ring.window(self._vad_position, self.ring.written)
        speech = self._vad.process(new_audio)
        for i in np.flatnonzero(speech):
            frame_end = self._vad_position + (int(i) + 1) * self._vad_frame
            if frame_end - detected_at > settings.wake_tail_s * rate:
                self._speech_started = True
            self._last_speech_end = frame_end
        self._vad_position += len(speech) * self._vad_frame

        hard_end = self._clip_start + self._max_clip
        silence = self._vad_position - self._last_speech_end
        if self._speech_started and silence >= settings.end_silence_s * rate:
            return [self._hand_off(self._last_speech_end + int(settings.tail_s * rate), "silence")]
        if not self._speech_started and self._vad_position - detected_at >= settings.no_command_s * rate:
            return [self._hand_off(self._last_speech_end + int(settings.tail_s * rate), "no_command")]
        if self.ring.written >= hard_end:
            return [self._hand_off(hard_end, "max_length")]
        return []

    def _hand_off(self, end: int, reason: str) -> Clip:
        end = min(end, self.ring.written, self._clip_start + self._max_clip)
        detection = self._detection
        clip = Clip(
            audio=np.array(self.ring.window(self._clip_start, end)),
            sample_rate=self.sample_rate,
            detection=detection,
            start_index=self._clip_start,
            preroll_samples=max(0, detection.sample_index - self._clip_start),
            end_reason=reason,
        )
        self.samples_discarded += self.ring.written - end
        self.ring.clear()
        self._detection = None
        self.state = GateState.LISTENING
        return clip
