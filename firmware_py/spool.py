"""The local spool: one sealed file per clip in a private data directory, and the audit log beside it.

A clip is sealed to the owner's public key in memory and written whole or not at all (temp file,
fsync, rename, fsync of the directory): no plaintext audio ever touches the disk, and a power cut
never leaves half a clip. Its metadata holds nothing that identifies the device or its owner. The
spool is bounded: when it is full, the oldest clip is dropped, and the audit log says so.
"""

from __future__ import annotations

import io
import os
import secrets
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from .audit import AuditLog
from .errors import WakegateError
from .gate import Clip
from .sealing import OwnerPublicKey, SealedClipError, open_sealed, read_header, seal

SPOOL_SUBDIR = "spool"
CLIP_SUFFIX = ".clip"
PUBLIC_KEY_NAME = "owner.pub"
AUDIT_NAME = "audit.log"
# A wall clock that moves this much more (or less) than the boot clock has been set (NTP, RTC, by hand).
CLOCK_JUMP_S = 5.0
# 2026-01-01: a clip stored before this was stored while the clock was unset (a Pi without an RTC boots in 1970).
PLAUSIBLE_SINCE_S = 1_767_225_600


def boot_clock() -> float:
    """Seconds since boot, suspend included; never set, so it never jumps."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()


@dataclass(frozen=True)
class StoredClip:
    clip_id: str
    path: Path
    meta: dict
    size: int


def clip_metadata(clip: Clip, clip_id: str, now: float, device_label: str = "") -> dict:
    """What may leave the device about a clip: no serial, MAC, hostname, account or user name,
    unless the owner opted in with a ``device_label`` of their own choosing."""
    label = {"device": device_label} if device_label else {}
    return {
        **label,
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
    """Create ``path`` (and parents) and make it 0700."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise WakegateError(f"cannot create private directory {path}: {exc.strerror}") from None
    return path


TEMP_SUFFIX = ".tmp"
STALE_TEMP_S = 60.0  # a temp file this old belongs to no write in progress (a write takes milliseconds)


def write_atomically(path: Path, data: bytes, mtime_ns: int | None = None) -> None:
    """``path`` holds ``data`` whole or not at all; ``mtime_ns`` sets its modification time first."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            if mtime_ns is not None:
                os.utime(handle.fileno(), ns=(mtime_ns, mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_stale_temp(folder: Path, older_than_s: float = STALE_TEMP_S) -> int:
    """Remove the temp files that a crash (``kill -9``, power cut) left behind in ``folder``: they are
    never clips (only a completed rename makes one), but they hold sealed audio and take space.
    Returns how many went. Recent ones may belong to a write in progress and stay."""
    removed = 0
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    for path in folder.glob(f".*{TEMP_SUFFIX}"):
        try:
            if path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def _oldest_first(clips: list[tuple[int, StoredClip]]) -> list[tuple[int, StoredClip]]:
    """(mtime ns, clip) pairs in the order they were written: ``store`` keeps each clip's mtime above the
    one before, whatever the wall clock did (the metadata time, from the wall clock, can jump back)."""
    return sorted(clips, key=lambda c: (c[0], str(c[1].meta.get("time", ""))))


class Spool:
    """Sealed clips in ``<data_dir>/spool``; created on the first clip, so listening never touches disk.

    A clip's file modification time is when it was stored, on the wall clock as it is *now*: ``keep_days``
    purges by it, and the spool drops the oldest by it. When the wall clock jumps (NTP setting a clock that
    booted in the past, or turning it back), every clip's time moves with it, so no clip is purged early or
    kept late. Clips stored while the clock was unset (before 2026) count from when they are first seen
    with a set clock.
    """

    def __init__(self, data_dir: Path, owner: OwnerPublicKey | None = None, max_clips: int = 200,
                 max_bytes: int = 100 * 2**20, clock=time.time, device_label: str = "", steady_clock=boot_clock):
        self.data_dir = Path(data_dir)
        self.dir = self.data_dir / SPOOL_SUBDIR
        self.owner = owner
        self.max_clips = max_clips
        self.max_bytes = max_bytes
        self.audit = AuditLog(self.data_dir / AUDIT_NAME, clock)
        self._clock = clock
        self._steady_clock = steady_clock
        self._wall_minus_steady: float | None = None
        self.device_label = device_label
        self.dropped = 0  # clips dropped to make room, since start
        self._lock = threading.RLock()  # the spool worker and delivery threads both change the spool

    def store(self, clip: Clip, before_commit=None) -> StoredClip:
        """Seal and store ``clip``. ``before_commit(meta)`` runs before the spool copy is written (the
        outbox copies: a crash between the two then never leaves a stored clip that no sink will get).
        A clip that cannot be written (disk full) is dropped: the audit log says so, no temp file stays,
        and WakegateError is raised."""
        if self.owner is None:
            raise WakegateError("no owner public key: clips cannot be sealed")
        clip_id = secrets.token_hex(16)
        meta = clip_metadata(clip, clip_id, self._clock(), self.device_label)
        sealed = seal(wav_bytes(clip.audio, clip.sample_rate), meta, self.owner)
        path = self.dir / f"{clip_id}{CLIP_SUFFIX}"
        with self._lock:
            scanned = self._scan_following_clock()
            try:
                ensure_private_dir(self.data_dir)
                ensure_private_dir(self.dir)
                newest = self._make_room(scanned, len(sealed))
                if before_commit is not None:
                    before_commit(meta)
                # The write order is the spool's order (oldest is dropped first): never older than the
                # newest clip, even after the wall clock jumped back.
                write_atomically(path, sealed, mtime_ns=max(int(self._clock() * 1e9), newest + 1))
            except (OSError, WakegateError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                self._audit_quietly("dropped", clip_id, reason=f"cannot store the clip: {reason}", bytes=len(sealed))
                raise WakegateError(f"clip {clip_id} dropped: cannot store it: {reason}") from None
        self.audit.append("captured", clip_id, wake_word=meta["wake_word"], score=meta["score"],
                          duration_s=meta["duration_s"], bytes=len(sealed))
        return StoredClip(clip_id, path, meta, len(sealed))

    def _audit_quietly(self, event: str, clip_id: str, **details) -> None:
        """An audit entry when the disk may be full: if even that cannot be written, say it in the log."""
        try:
            self.audit.append(event, clip_id, **details)
        except OSError as exc:
            import logging

            logging.getLogger("wakegate").error("audit log: cannot record %s %s (%s): %s", event, clip_id, details, exc.strerror)

    def _make_room(self, scanned: list[tuple[int, StoredClip]], incoming: int) -> int:
        """Drop the oldest of the ``scanned`` clips until ``incoming`` bytes fit; returns the newest clip's mtime (ns)."""
        newest = scanned[-1][0] if scanned else 0
        clips = [clip for _, clip in scanned]
        total = sum(c.size for c in clips)
        while clips and (len(clips) + 1 > self.max_clips or total + incoming > self.max_bytes):
            oldest = clips.pop(0)
            oldest.path.unlink(missing_ok=True)
            total -= oldest.size
            self.dropped += 1
            self.audit.append("dropped", oldest.clip_id, reason="spool full")
        return newest

    def list(self) -> list[StoredClip]:
        return [clip for _, clip in self._scan()]

    def _scan(self) -> list[tuple[int, StoredClip]]:
        """(mtime in ns, clip), oldest first."""
        if not self.dir.is_dir():
            return []
        clips = []
        for path in self.dir.glob(f"*{CLIP_SUFFIX}"):
            try:
                with open(path, "rb") as handle:
                    meta, _, _ = read_header(handle.read(8192))
            except (OSError, SealedClipError):
                continue  # not ours, or unreadable: never delete what we cannot identify
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # deleted meanwhile (delivered, or by the owner)
            clips.append((stat.st_mtime_ns, StoredClip(path.stem, path, meta, stat.st_size)))
        return _oldest_first(clips)

    def find(self, clip_id: str) -> StoredClip:
        matches = [c for c in self.list() if c.clip_id.startswith(clip_id)] if clip_id else []
        if not matches:
            raise WakegateError(f"no clip {clip_id!r} in {self.dir}")
        if len(matches) > 1:
            raise WakegateError(f"{clip_id!r} matches {len(matches)} clips; give more of the id")
        return matches[0]

    def open(self, clip_id: str, private_key) -> tuple[dict, bytes]:
        stored = self.find(clip_id)
        return open_sealed(stored.path.read_bytes(), private_key)

    def delete(self, clip_id: str, event: str = "deleted", **details) -> StoredClip:
        with self._lock:
            stored = self.find(clip_id)
            stored.path.unlink()
            self.audit.append(event, stored.clip_id, **details)
        return stored

    def _scan_following_clock(self) -> list[tuple[int, StoredClip]]:
        """``_scan()``, after moving every clip's stored-at time by however far the wall clock jumped
        since the last look."""
        now = self._clock()
        offset = now - self._steady_clock()
        jump = 0.0 if self._wall_minus_steady is None else offset - self._wall_minus_steady
        self._wall_minus_steady = offset
        scanned = self._scan()
        clock_set = now >= PLAUSIBLE_SINCE_S
        unset = [mtime for mtime, _ in scanned if mtime < PLAUSIBLE_SINCE_S * 10**9] if clock_set else []
        if abs(jump) < CLOCK_JUMP_S and not unset:
            return scanned
        # Clips stored while the clock was unset: the newest of them becomes "now", the rest keep their spacing.
        shift_unset = now - max(unset) / 1e9 if unset else 0.0
        followed = []
        for mtime, stored in scanned:
            moved = mtime + int((shift_unset if mtime < PLAUSIBLE_SINCE_S * 10**9 and unset else jump) * 1e9)
            try:
                os.utime(stored.path, ns=(moved, moved))
            except FileNotFoundError:
                continue  # deleted meanwhile
            followed.append((moved, stored))
        if abs(jump) >= CLOCK_JUMP_S:
            import logging

            logging.getLogger("wakegate").warning("wall clock jumped %+.0f s; clip ages kept as they were", jump)
        return _oldest_first(followed)

    def purge(self, older_than_s: float = 0.0) -> list[StoredClip]:
        purged = []
        with self._lock:
            scanned = self._scan_following_clock()
            cutoff_ns = (self._clock() - older_than_s) * 1e9
            for mtime, stored in scanned:
                # older_than_s = 0 is "every clip", even one stored after a clock that has since jumped back.
                if mtime <= cutoff_ns or older_than_s <= 0:
                    stored.path.unlink(missing_ok=True)
                    self.audit.append("purged", stored.clip_id, older_than_s=older_than_s)
                    purged.append(stored)
        return purged
