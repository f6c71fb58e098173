"""Audio into the gate: files, raw PCM on stdin, and microphones, all as 16 kHz mono int16 blocks.

Every source yields numpy int16 blocks of exactly ``block`` samples (the last one may be shorter).
Rate and channel conversion happen here, at the edge, so the core only ever sees one format.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioError

TARGET_RATE = 16000
MAX_FILE_CHANNELS = 64  # libsndfile allows 1024; a corrupt header claiming that many would cost ~150 MB a read


class Converter:
    """Channel choice, resampling to 16 kHz and re-blocking, incrementally."""

    def __init__(self, in_rate: int, in_channels: int, channel: int | None, block: int):
        if in_rate < 4000 or in_rate > 384000:
            raise AudioError(f"unsupported sample rate {in_rate} Hz")
        if in_channels < 1:
            raise AudioError("audio has no channels")
        if channel is not None and not 0 <= channel < in_channels:
            raise AudioError(f"channel {channel} does not exist (audio has {in_channels})")
        self.in_rate, self.in_channels, self.channel, self.block = in_rate, in_channels, channel, block
        self._resampler = None
        if in_rate != TARGET_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(in_rate, TARGET_RATE, 1, dtype="float32", quality="HQ")
        self._pending = np.zeros(0, dtype=np.int16)

    def _mono_float(self, samples: np.ndarray) -> np.ndarray:
        """(n, channels) or (n,) samples of any dtype → float32 mono in [-1, 1)."""
        if samples.dtype == np.int16:
            x = samples.astype(np.float32) * (1.0 / 32768.0)
        elif samples.dtype == np.int32:
            x = samples.astype(np.float32) * (1.0 / 2147483648.0)
        else:  # float files may hold NaN or ±inf (corrupt data): silence and full scale instead
            x = np.nan_to_num(samples.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)
        if x.ndim == 2:
            x = x[:, self.channel] if self.channel is not None else x.mean(axis=1)
        return x

    def push(self, samples: np.ndarray, last: bool = False) -> Iterator[np.ndarray]:
        if samples.dtype == np.int16 and samples.ndim == 1 and self._resampler is None:
            converted = samples
        else:
            with np.errstate(over="ignore"):  # huge float samples overflow to ±inf, then clip to full scale
                x = self._mono_float(samples)
                if self._resampler is not None:
                    x = self._resampler.resample_chunk(x, last=last)
                    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)  # huge inputs can ring to ±inf/NaN
                converted = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
        pending = np.concatenate((self._pending, converted)) if len(self._pending) else converted
        n_blocks = len(pending) // self.block
        for i in range(n_blocks):
            yield pending[i * self.block : (i + 1) * self.block]
        self._pending = pending[n_blocks * self.block :].copy()
        if last and len(self._pending):
            yield self._pending
            self._pending = self._pending[:0]


def file_blocks(path: str | Path, block: int, channel: int | None = None) -> Iterator[np.ndarray]:
    """WAV, FLAC, Ogg… through libsndfile; several channels are mixed unless one is chosen."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioError(f"{path} is a directory, not an audio file")
    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({_first_line(exc)})") from None
    with handle:
        if handle.frames == 0:
            raise AudioError(f"{path}: the file holds no audio")
        if handle.channels > MAX_FILE_CHANNELS:  # each read would allocate rate/10 × channels samples
            raise AudioError(f"{path}: {handle.channels} channels; at most {MAX_FILE_CHANNELS} are supported")
        converter = Converter(handle.samplerate, handle.channels, channel, block)
        dtype = "int16" if handle.subtype in ("PCM_16", "PCM_S8", "PCM_U8") else "float32"
        read_size = max(block, handle.samplerate // 10)
        try:
            while True:
                chunk = handle.read(read_size, dtype=dtype, always_2d=handle.channels > 1)
                last = len(chunk) < read_size
                yield from converter.push(chunk, last=last)
                if last:
                    return
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"{path}: audio data is corrupt or truncated ({_first_line(exc)})") from None


def raw_blocks(stream, block: int, rate: int = TARGET_RATE, channels: int = 1) -> Iterator[np.ndarray]:
    """Headerless signed 16-bit little-endian PCM from a binary stream (e.g. stdin)."""
    converter = Converter(rate, channels, None, block)
    frame_bytes = 2 * channels
    read_size = max(block, rate // 10) * frame_bytes
    leftover = b""
    while True:
        data = stream.read(read_size)
        last = not data
        data = leftover + (data or b"")
        usable = len(data) - len(data) % frame_bytes
        leftover = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2")
        if channels > 1:
            samples = samples.reshape(-1, channels)
        yield from converter.push(samples, last=last)
        if last:
            return


def stdin_blocks(block: int, rate: int = TARGET_RATE, channels: int = 1) -> Iterator[np.ndarray]:
    return raw_blocks(sys.stdin.buffer, block, rate, channels)


def paced(blocks: Iterator[np.ndarray], rate: int = TARGET_RATE) -> Iterator[np.ndarray]:
    """Yield blocks no faster than real time (``--realtime`` replay)."""
    start = time.monotonic()
    played = 0
    for block in blocks:
        delay = start + played / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield block
        played += len(block)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


# -- microphones ---------------------------------------------------------------------------------


def _sounddevice():
    try:
        import sounddevice
    except OSError as exc:  # PortAudio missing: sounddevice raises OSError at import
        raise AudioError(f"PortAudio is not available ({_first_line(exc)}); install libportaudio2") from None
    return sounddevice


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate: int
    is_default: bool


def list_input_devices() -> list[InputDevice]:
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot list audio devices ({_first_line(exc)})") from None
    return [
        InputDevice(i, d["name"], d["max_input_channels"], int(d["default_samplerate"]), i == default)
        for i, d in enumerate(devices)
        if d["max_input_channels"] > 0
    ]


def find_input_device(spec: str | int | None) -> InputDevice:
    """A device by index, by (part of its) name, or the system default."""
    devices = list_input_devices()
    if not devices:
        raise AudioError("no audio input device found")
    if spec is None or spec == "":
        for device in devices:
            if device.is_default:
                return device
        return devices[0]
    if isinstance(spec, int) or str(spec).isdigit():
        for device in devices:
            if device.index == int(spec):
                return device
        raise AudioError(f"no input device with index {spec}")
    exact = [d for d in devices if d.name == spec]
    partial = [d for d in devices if str(spec).lower() in d.name.lower()]
    matches = exact or partial
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AudioError(f"no input device named {spec!r} (see 'wakegate devices')")
    raise AudioError(f"{spec!r} matches several devices: {', '.join(d.name for d in matches)}")


class Microphone:
    """A PortAudio input stream whose callback only copies bytes into a preallocated ring.

    The callback runs on PortAudio's thread under real-time constraints: it copies, bumps a
    counter and returns; it never blocks, allocates arrays or logs. The reading side polls the
    ring from the gate's thread and converts at leisure. If the ring ever fills (the gate fell
    behind), the oldest audio is overwritten and counted as an overflow, like a hardware overrun.
    """

    def __init__(
        self,
        device: str | int | None = None,
        rate: int | None = None,
        channels: int | None = None,
        channel: int | None = 0,
        block: int = 640,
        buffer_s: float = 2.0,
        stall_timeout_s: float = 3.0,
    ):
        self._sd = _sounddevice()
        self.device = find_input_device(device)
        self.rate = rate or (TARGET_RATE if self._supports(TARGET_RATE, channels or 1) else self.device.default_rate)
        self.channels = channels or 1
        if self.channels > self.device.channels:
            raise AudioError(f"{self.device.name} has {self.device.channels} input channels, not {self.channels}")
        self.block = block
        self.stall_timeout_s = stall_timeout_s
        self._converter = Converter(self.rate, self.channels, channel if self.channels > 1 else None, block)
        self._frame_bytes = 2 * self.channels
        self._callback_frames = max(1, self.block * self.rate // TARGET_RATE)
        # A whole number of callback blocks, so a callback's copy never wraps around the end.
        callback_bytes = self._callback_frames * self._frame_bytes
        self._capacity = max(1, int(buffer_s * self.rate) // self._callback_frames) * callback_bytes
        self._ring = bytearray(self._capacity)
        self._view = memoryview(self._ring)
        self._write_pos = 0  # bytes ever written; only the callback changes it
        self._read_pos = 0  # bytes ever read; only the reader changes it
        self.overflows = 0  # PortAudio input overflows plus ring overruns
        self._stream = None
        self._closed = threading.Event()
        self.wedged = False

    def _supports(self, rate: int, channels: int) -> bool:
        try:
            self._sd.check_input_settings(device=self.device.index, samplerate=rate, channels=channels, dtype="int16")
            return True
        except Exception:  # PortAudio says no in several ways; any of them means "not this rate"
            return False

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        n = len(indata)
        pos = self._write_pos % self._capacity
        if pos + n <= self._capacity:
            self._view[pos : pos + n] = indata
        else:  # only if PortAudio ever hands over an odd-sized block
            source = memoryview(indata)
            first = self._capacity - pos
            self._view[pos:] = source[:first]
            self._view[: n - first] = source[first:]
        self._write_pos += n

    def __enter__(self) -> "Microphone":
        return self.open()

    def open(self) -> "Microphone":
        try:
            self._stream = self._sd.RawInputStream(
                device=self.device.index,
                samplerate=self.rate,
                channels=self.channels,
                dtype="int16",
                blocksize=self._callback_frames,
                callback=self._callback,
            )
            self._stream.start()
        except self._sd.PortAudioError as exc:
            raise AudioError(f"cannot open {self.device.name} at {self.rate} Hz ({_first_line(exc)})") from None
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop capturing and zero the ring. A wedged driver can block PortAudio's abort for ever;
        then ``wedged`` is set and the caller should end the process without PortAudio's clean-up."""
        self._closed.set()
        if self._stream is not None:
            stream, self._stream = self._stream, None
            closer = threading.Thread(target=self._close_stream, args=(stream,), name="wakegate-mic-close", daemon=True)
            closer.start()
            closer.join(timeout_s)
            self.wedged = closer.is_alive()
        self._ring[:] = bytes(len(self._ring))  # no captured audio outlives the stream

    def _close_stream(self, stream) -> None:
        try:
            stream.abort()
            stream.close()
        except self._sd.PortAudioError:
            pass

    def blocks(self) -> Iterator[np.ndarray]:
        """16 kHz mono blocks as they arrive; raises AudioError if the device stops delivering."""
        poll_s = self.block / TARGET_RATE / 2
        last_data = time.monotonic()
        while not self._closed.is_set():
            available = self._write_pos - self._read_pos
            if available > self._capacity:
                self.overflows += 1
                self._read_pos = self._write_pos - self._capacity
                available = self._capacity
            available -= available % self._frame_bytes
            if available == 0:
                if self._stream is not None and not self._stream.active:
                    raise AudioError(f"{self.device.name} stopped delivering audio (device gone?)")
                if time.monotonic() - last_data > self.stall_timeout_s:
                    raise AudioError(f"no audio from {self.device.name} for {self.stall_timeout_s:g} s (device gone?)")
                time.sleep(poll_s)
                continue
            last_data = time.monotonic()
            pos = self._read_pos % self._capacity
            first = min(available, self._capacity - pos)
            data = bytes(self._view[pos : pos + first])
            if first < available:
                data += bytes(self._view[: available - first])
            self._read_pos += available
            samples = np.frombuffer(data, dtype="<i2")
            if self.channels > 1:
                samples = samples.reshape(-1, self.channels)
            yield from self._converter.push(samples)
