"""Waveform-domain augmentation and training-window composition.

All augmentation happens on int16-range audio *before* the front-end, so the model only ever sees
features that firmware_py.features.LogMel computes on the device.
"""

from __future__ import annotations

import numpy as np
import soxr

SAMPLE_RATE = 16000
HOP = 160
# Tempo changes (pitch kept) for positives and negatives alike, when a WindowMaker is asked for them:
# people say the word faster than most TTS voices do, and a held-out voice's fast, clipped "alexa" was
# what held-out recall missed (models/recipe/README.md).
TEMPO_PROB = 0.4
TEMPO_RANGE = (0.9, 1.4)


def trim_silence(clip: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    """Cut leading and trailing frames more than `floor_db` below the loudest 10 ms frame.

    TTS output carries a little silence at both ends; the word's end must be where the sound stops,
    because that is where the labels place the detection.
    """
    x = clip.astype(np.float32)
    n = len(x) // HOP
    if n < 3:
        return clip
    energy_db = 10 * np.log10(np.mean(x[: n * HOP].reshape(n, HOP) ** 2, axis=1) + 1e-3)
    loud = np.flatnonzero(energy_db > energy_db.max() - floor_db)
    return clip[loud[0] * HOP : (loud[-1] + 1) * HOP]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-9))


def active_rms(x: np.ndarray) -> float:
    """RMS of the louder half of 10 ms frames: the level of speech, ignoring its pauses."""
    n = len(x) // HOP
    if n < 2:
        return rms(x)
    frames = np.sqrt(np.mean(x[: n * HOP].astype(np.float64).reshape(n, HOP) ** 2, axis=1) + 1e-9)
    return float(np.sqrt(np.mean(np.sort(frames)[n // 2 :] ** 2)))


def random_excerpt(rng: np.random.Generator, clip: np.ndarray, length: int) -> np.ndarray:
    """`length` samples of `clip`, looped if it is too short, from a random offset."""
    if len(clip) == 0:
        return np.zeros(length, np.float32)
    if len(clip) < length:
        clip = np.tile(clip, length // len(clip) + 1)
    start = int(rng.integers(0, len(clip) - length + 1))
    return clip[start : start + length].astype(np.float32)


def synthetic_room(rng: np.random.Generator) -> np.ndarray:
    """A crude room impulse response: direct path plus exponentially decaying noise (RT60 0.15–0.7 s)."""
    rt60 = rng.uniform(0.15, 0.7)
    length = int(rt60 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
    tail[: int(0.003 * SAMPLE_RATE)] = 0.0  # first reflections arrive a few ms after the direct sound
    ir = tail * rng.uniform(0.05, 0.4) / (np.sqrt(np.sum(tail**2)) + 1e-9)
    ir[0] = 1.0
    return ir.astype(np.float32)


def simulated_rooms(seed: int, count: int = 300) -> list[np.ndarray]:
    """Impulse responses of simulated shoebox rooms (pyroomacoustics, image source method): small rooms
    to halls, RT60 0.15–0.8 s, the microphone anywhere from 0.1 m off a wall at 0.5–1.5 m height (shelf,
    table), the talker 0.5–5 m away. A few seconds for 300 rooms."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    rooms = []
    while len(rooms) < count:
        size = np.array([rng.uniform(3, 10), rng.uniform(2.5, 8), rng.uniform(2.4, 4)])
        rt60 = rng.uniform(0.15, 0.8)
        try:
            absorption, max_order = pra.inverse_sabine(rt60, size)
        except ValueError:  # this RT60 is impossible in this room
            continue
        room = pra.ShoeBox(size, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=min(max_order, 20))
        mic = np.array([rng.uniform(0.1, size[0] - 0.1), rng.uniform(0.1, size[1] - 0.1), rng.uniform(0.5, 1.5)])
        for _ in range(20):  # a talker 0.5–5 m away, inside the room
            source = np.array([rng.uniform(0.3, size[0] - 0.3), rng.uniform(0.3, size[1] - 0.3), rng.uniform(1.0, 1.9)])
            if 0.5 <= np.linalg.norm(source - mic) <= 5.0:
                break
        else:
            continue
        room.add_source(source)
        room.add_microphone(mic)
        room.compute_rir()
        ir = np.asarray(room.rir[0][0], dtype=np.float32)
        # Start just before the direct sound: the distance's delay would move the word's end past its label.
        ir = ir[max(0, int(np.argmax(np.abs(ir))) - 40) :]
        rooms.append(ir / (np.max(np.abs(ir)) + 1e-9))
    return rooms


def vocal_tract_shift(rng: np.random.Generator, clip: np.ndarray, lo: float = 0.88, hi: float = 1.12) -> np.ndarray:
    """Resample by a random factor and play back at 16 kHz: pitch and formants move together (a longer
    or shorter vocal tract, another speaker), duration the other way. Applied alike to positives and
    negatives, so it is never a cue."""
    factor = rng.uniform(lo, hi)
    return soxr.resample(clip.astype(np.float32), SAMPLE_RATE, int(SAMPLE_RATE * factor)).astype(np.float32)


def tempo_change(clip: np.ndarray, factor: float, frame: int = 384, tolerance: int = 96) -> np.ndarray:
    """Play ``clip`` ``factor`` times as fast with pitch and formants kept (WSOLA).

    Output frames of ``frame`` samples (Hann, half overlap, so they sum to one) are taken from the
    input every ``frame / 2 * factor`` samples, each shifted by up to ``tolerance`` samples to where it
    best continues the previous one, so voiced sound keeps its phase and no pitch is added.
    """
    x = clip.astype(np.float32)
    hop = frame // 2
    n_out = int(len(x) / factor)
    if n_out < frame or len(x) < frame + 2 * tolerance:
        return x
    x = np.concatenate((np.zeros(tolerance, np.float32), x, np.zeros(frame + 2 * tolerance, np.float32)))
    window = np.hanning(frame + 1)[:-1].astype(np.float32)
    out = np.zeros(n_out + frame, np.float32)
    previous = tolerance  # where the last frame was taken from (in the padded input)
    for k in range((n_out + hop - 1) // hop):
        nominal = tolerance + int(round(k * hop * factor))
        if k == 0:
            start = nominal
        else:
            natural = x[previous + hop : previous + hop + frame]  # what would follow the last frame
            lo = nominal - tolerance
            candidates = x[lo : lo + frame + 2 * tolerance]
            start = lo + int(np.argmax(np.correlate(candidates, natural, mode="valid")))
        out[k * hop : k * hop + frame] += window * x[start : start + frame]
        previous = start
    return out[:n_out]


def reverberate(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    n = len(x) + len(ir) - 1
    size = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    return (y * (rms(x) / (rms(y) + 1e-9))).astype(np.float32)


def telephone_band(x: np.ndarray) -> np.ndarray:
    """Down to 8 kHz and back: the band the WUW-II telephone negatives have, so band alone is no cue."""
    return soxr.resample(soxr.resample(x, SAMPLE_RATE, 8000), 8000, SAMPLE_RATE)[: len(x)].astype(np.float32)


def microphone_response(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """A random microphone, enclosure and preamp, as one smooth zero-phase gain curve: a spectral tilt,
    a low cut (50–400 Hz), a high cut (3–8 kHz, steep) and up to three resonances or dips of ±10 dB.

    TTS voices all share one bright, flat studio response; real voices come through every kind of
    capsule and case (the peers train with parametric EQ for the same reason). Applied to positives
    and negatives alike, so no response is a cue.
    """
    f = np.linspace(10.0, SAMPLE_RATE / 2, 513)  # the curve is smooth: design it coarse, interpolate
    gain_db = rng.uniform(-4.0, 2.0) * np.log2(f / 1000.0)
    gain_db -= 12.0 * np.maximum(0.0, np.log2(rng.uniform(50, 400) / f))
    gain_db -= 30.0 * np.maximum(0.0, np.log2(f / rng.uniform(3000, 8000)))
    for _ in range(int(rng.integers(0, 4))):
        octaves = np.log2(f / np.exp(rng.uniform(np.log(150), np.log(6000))))
        gain_db += rng.uniform(-10, 10) * np.exp(-0.5 * (octaves / rng.uniform(0.2, 1.0)) ** 2)
    size = len(x) + 2048 + (len(x) % 2)  # padded, so the filter's ringing does not wrap around
    gain = np.interp(np.fft.rfftfreq(size, 1 / SAMPLE_RATE), f, 10 ** (np.maximum(gain_db, -80.0) / 20))
    return np.fft.irfft(np.fft.rfft(x, size) * gain, size)[: len(x)].astype(np.float32)


def soft_clip(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """An overdriven preamp: tanh saturation with 3–20 dB of drive above the peak."""
    peak = np.max(np.abs(x)) + 1e-9
    drive = 10 ** (rng.uniform(3, 20) / 20)
    return (np.tanh(x / peak * drive) * peak).astype(np.float32)


def finish(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Random channel effects and overall gain, then int16 with clipping (as a real ADC would)."""
    if rng.random() < 0.8:
        x = microphone_response(rng, x)
    if rng.random() < 0.1:
        x = soft_clip(rng, x)
    if rng.random() < 0.15:
        x = telephone_band(x)
    peak = np.max(np.abs(x)) + 1e-9
    # Levels from very quiet (peak −45 dBFS) to slightly clipped.
    target_peak = 32767.0 * 10 ** (rng.uniform(-45, 1) / 20)
    return np.clip(x * (target_peak / peak), -32768, 32767).astype(np.int16)


class WindowMaker:
    """Builds fixed-length training windows; returns int16 audio and the wake word's end sample (or None)."""

    def __init__(self, window_s: float, noises: list[np.ndarray], speech: list[np.ndarray],
                 tts_speech: list[np.ndarray], rng: np.random.Generator, rooms: list[np.ndarray] | None = None,
                 tempo_changes: bool = False):
        self.length = int(window_s * SAMPLE_RATE)
        self.noises = noises  # environmental noise and room tone
        self.speech = speech  # real speech and other wake words (negatives)
        self.tts_speech = tts_speech  # synthetic negatives, also used as neighbouring speech
        self.rng = rng
        self.rooms = rooms or []  # simulated room impulse responses; a crude synthetic one when empty
        self.tempo_changes = tempo_changes  # off: not even a random draw, so older runs replay bit for bit

    def _background(self) -> np.ndarray:
        """Noise at a level relative to 1.0 = the foreground's active RMS (set by the caller's SNR)."""
        rng = self.rng
        choice = rng.random()
        if choice < 0.1:
            bg = rng.standard_normal(self.length).astype(np.float32)  # plain hiss
        elif choice < 0.75:
            bg = random_excerpt(rng, self.noises[int(rng.integers(len(self.noises)))], self.length)
        else:
            # Babble: another real talker underneath.
            bg = random_excerpt(rng, self.speech[int(rng.integers(len(self.speech)))], self.length)
        return bg / (active_rms(bg) + 1e-9)

    def _place(self, canvas: np.ndarray, clip: np.ndarray, end: int, level: float) -> None:
        """Add `clip` scaled to active RMS `level`, so that it ends at sample `end` (cropped at the edges)."""
        clip = clip.astype(np.float32) * (level / (active_rms(clip) + 1e-9))
        start = end - len(clip)
        lo, hi = max(0, start), min(len(canvas), end)
        if hi > lo:
            canvas[lo:hi] += clip[lo - start : hi - start]

    def _neighbour(self) -> np.ndarray:
        pool = self.speech if self.rng.random() < 0.6 else self.tts_speech
        return trim_silence(pool[int(self.rng.integers(len(pool)))])

    def _mix(self, foreground: np.ndarray, reverb: bool) -> np.ndarray:
        rng = self.rng
        if reverb:
            room = self.rooms[int(rng.integers(len(self.rooms)))] if self.rooms and rng.random() < 0.8 else synthetic_room(rng)
            foreground = reverberate(foreground, room)
        snr_db = rng.uniform(0, 20) if rng.random() < 0.8 else rng.uniform(20, 40)
        x = foreground + self._background() * 10 ** (-snr_db / 20)
        return finish(rng, x)

    def _word_end(self) -> int:
        """Where a positive's word ends: after 40 % of the window, at least 0.35 s before its end."""
        return int(self.rng.uniform(0.4 * self.length, self.length - 0.35 * SAMPLE_RATE))

    def _voiced(self, clip: np.ndarray) -> np.ndarray:
        """A spoken clip trimmed, maybe faster or slower, maybe from a longer or shorter vocal tract:
        words and negatives go through this alike, so none of it is a cue."""
        rng = self.rng
        clip = trim_silence(clip)
        if self.tempo_changes and rng.random() < TEMPO_PROB:
            clip = tempo_change(clip, rng.uniform(*TEMPO_RANGE))
        if rng.random() < 0.5:
            clip = vocal_tract_shift(rng, clip)
        return clip

    def positive(self, word: np.ndarray) -> tuple[np.ndarray, int]:
        """The wake word ending between 40 % of the window and 0.35 s before its end; maybe with speech around."""
        rng = self.rng
        word = self._voiced(word)
        word_end = self._word_end()
        canvas = np.zeros(self.length, np.float32)
        self._place(canvas, word, word_end, 1.0)
        word_start = word_end - len(word)
        if rng.random() < 0.3:  # speech just before ("... alexa")
            self._place(canvas, self._neighbour(), word_start - int(rng.uniform(0.1, 0.6) * SAMPLE_RATE), rng.uniform(0.5, 1.5))
        if rng.random() < 0.4:  # a command right after ("alexa, what time ...")
            after = self._neighbour()
            gap = int(rng.uniform(0.05, 0.4) * SAMPLE_RATE)
            self._place(canvas, after, word_end + gap + len(after), rng.uniform(0.5, 1.5))
        return self._mix(canvas, reverb=rng.random() < 0.3), word_end

    def hard_negative(self, excerpt: np.ndarray, peak: int) -> np.ndarray:
        """A mined excerpt with the moment the model fired where a positive's word would end.

        No vocal-tract shift: what is to be unlearnt is this very sound.
        """
        end = self._word_end() + len(excerpt) - peak
        canvas = np.zeros(self.length, np.float32)
        self._place(canvas, excerpt, end, 1.0)
        return self._mix(canvas, reverb=self.rng.random() < 0.3)

    def negative(self, clip: np.ndarray | None) -> np.ndarray:
        """A negative clip (or nothing but background) anywhere in the window, maybe followed by more speech."""
        rng = self.rng
        canvas = np.zeros(self.length, np.float32)
        if clip is None:
            canvas += rng.standard_normal(self.length).astype(np.float32) * 1e-3
        else:
            clip = self._voiced(clip)
            end = int(rng.uniform(0.3 * self.length, self.length + 0.5 * len(clip)))
            self._place(canvas, clip, end, 1.0)
            if rng.random() < 0.3:
                self._place(canvas, self._neighbour(), end - len(clip) - int(rng.uniform(0.1, 0.5) * SAMPLE_RATE), rng.uniform(0.5, 1.5))
        return self._mix(canvas, reverb=rng.random() < 0.3)
