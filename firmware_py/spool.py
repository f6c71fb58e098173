"""The local spool: one WAV and one metadata record per clip, in a private data directory.

Files appear whole or not at all (temp file, fsync, rename, fsync of the directory), so a power
cut never leaves half a clip. The metadata holds nothing that identifies the device or its owner.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from .errors import WakegateError
from .gate import Clip

SPOOL_SUBDIR = "spool"


@dataclass(frozen=True)
class StoredClip:
    clip_id: str
    audio_path: Path
    meta_path: Path
    meta: dict


def clip_metadata(clip: Clip, clip_id: str, now: float) -> dict:
    """What may leave the device about a clip: no serial, MAC, hostname, account or user name."""
    return {
        "id": clip_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(round(now))),
        "wake_word": clip.detection.wake_word,
        "score": round(clip.detection.score, 3),
        "duration_s": round(clip.duration_s, 2),
        "preroll_s": round(clip.preroll_samples / clip.sample_rate, 2),
        "sample_rate": clip.sample_rate,
        "model_version": clip.detection.model_version,
        "end_reason": clip.end_reason,
    }


def wav_bytes(audio, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(audio.astype("<i2").tobytes())
    return buffer.getvalue()


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700; refuse one that others can read."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise WakegateError(f"cannot create private directory {path}: {exc.strerror}") from None
    return path


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Spool:
    """Stores clips; the directory is created on the first clip, so listening never touches disk."""

    def __init__(self, data_dir: Path, clock=time.time):
        self.dir = Path(data_dir) / SPOOL_SUBDIR
        self._data_dir = Path(data_dir)
        self._clock = clock

    def store(self, clip: Clip) -> StoredClip:
        ensure_private_dir(self._data_dir)
        ensure_private_dir(self.dir)
        clip_id = secrets.token_hex(16)
        meta = clip_metadata(clip, clip_id, self._clock())
        audio_path = self.dir / f"{clip_id}.wav"
        meta_path = self.dir / f"{clip_id}.json"
        write_atomically(audio_path, wav_bytes(clip.audio, clip.sample_rate))
        # The record goes last: a clip is listed only once its audio is safely on disk.
        write_atomically(meta_path, json.dumps(meta, sort_keys=True).encode() + b"\n")
        return StoredClip(clip_id, audio_path, meta_path, meta)

    def list(self) -> list[StoredClip]:
        if not self.dir.is_dir():
            return []
        clips = []
        for meta_path in sorted(self.dir.glob("*.json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError):
                continue
            clips.append(StoredClip(meta_path.stem, meta_path.with_suffix(".wav"), meta_path, meta))
        return sorted(clips, key=lambda c: (c.meta.get("time", ""), c.clip_id))
