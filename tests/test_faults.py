"""Never lose a clip, never leak one: a sink down for a long time, a full disk, kill -9 at random
moments, wall-clock jumps, and a short soak (benchmarks/soak.py runs the long one).

``WAKEGATE_KILL_ITERATIONS`` sets how many times the kill -9 test kills the gate (default 4 in CI;
30 for the full run).
"""

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, assert_no_plaintext
from firmware_py.audit import AuditLog
from firmware_py.config import load_settings
from firmware_py.delivery import Outbox, SinkSettings
from firmware_py.detector import load_detector
from firmware_py.gate import Gate
from firmware_py.indicator import Indicator
from firmware_py.pipeline import Pipeline
from firmware_py.runtime import Controller, FileSource, Runtime
from firmware_py.sealing import OwnerPublicKey
from firmware_py.sinks import Sinks
from firmware_py.spool import STALE_TEMP_S, Spool
from https_server import Receiver, make_test_ca
from synthetic_model import burst, noise

RATE = 16000
WAKE = np.concatenate([noise(2.0, -60, seed=1), burst(0.3), noise(1.0, -30, seed=2), noise(3.0, -65, seed=3)])


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("tls"))


def wav(tmp_path, audio, name="in.wav"):
    path = tmp_path / name
    sf.write(path, audio, RATE, subtype="PCM_16")
    return path


def config(tmp_path, data_dir, url, ca, extra=""):
    path = tmp_path / "wakegate.toml"
    path.write_text(f'[spool]\ndir = "{data_dir}"\n{extra}[[sinks]]\nname = "hook"\ntype = "webhook"\n'
                    f'url = "{url}"\nca_file = "{ca}"\n')
    return path


def gate_command(model, cfg, *args):
    return [sys.executable, "-m", "firmware_py", "run", "--model", str(model), "--config", str(cfg), *map(str, args)]


def run(model, cfg, *args, timeout=120):
    return subprocess.run(gate_command(model, cfg, *args), capture_output=True, text=True, timeout=timeout)


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def events(data_dir, name=None):
    entries = AuditLog(data_dir / "audit.log").entries()
    return [e for e in entries if name is None or e.get("event") == name]


# -- 1. a sink down for "minutes", through restarts ----------------------------------------------


def test_a_sink_down_for_long_gets_every_clip_exactly_once(tmp_path, tls, loud_model, data_dir):
    """Down (connection refused) for a whole run, then 503 for a while in the next, then up: every clip
    reaches the receiver once; a receiver that dedupes by Idempotency-Key never even sees a repeat."""
    port = free_port()
    cfg = config(tmp_path, data_dir, f"https://127.0.0.1:{port}/", tls[0])
    first = run(loud_model, cfg, "--input", wav(tmp_path, np.concatenate([WAKE] * 4), "a.wav"))
    assert first.returncode == 0, first.stderr
    assert "4 clip(s) still waiting for delivery" in first.stdout
    receiver = Receiver(tls[1], tls[2], port=port)
    receiver.fail_next = 4  # up, but overloaded: 503 to the next four tries (0.5 + 1 + 2 + 4 s of back-off)
    try:
        second = run(loud_model, cfg, "--input", wav(tmp_path, np.concatenate([WAKE] * 3), "b.wav"))
        assert second.returncode == 0, second.stderr
        if "still waiting for delivery" in second.stdout:  # a slow machine outlasted the grace time: once more
            assert run(loud_model, cfg, "--input", wav(tmp_path, noise(1.0, -60), "quiet.wav")).returncode == 0
    finally:
        receiver.close()
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    captured = {e["clip_id"] for e in events(data_dir, "captured")}
    assert len(captured) == 7
    assert sorted(keys) == sorted(captured)  # each accepted exactly once: no loss, no repeat
    failed = events(data_dir, "delivery_failed")
    assert any("503" in e["error"] for e in failed) and any("Connection refused" in e["error"] for e in failed)
    assert len(failed) == len({(e["clip_id"], e["error"][:8]) for e in failed})  # one entry per clip and cause, not per retry
    assert not list((data_dir / "outbox" / "hook").glob("*")) and not list((data_dir / "spool").glob("*.clip"))
    assert AuditLog(data_dir / "audit.log").verify().ok


# -- 2. disk full while writing a clip -----------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real 512 KiB filesystem (tmpfs, as root); skipped where mounting is not allowed."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path, leave_bytes: int) -> Path:
    """A filler file that leaves about ``leave_bytes`` free on ``folder``'s filesystem."""
    filler = folder / "filler"
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free - leave_bytes))
    return filler


def gate_in_process(data_dir: Path, model: Path, sink_url: str | None = None, ca: str = ""):
    settings_text = f'[spool]\ndir = "{data_dir}"\n'
    if sink_url:
        settings_text += f'[[sinks]]\nname = "hook"\ntype = "webhook"\nurl = "{sink_url}"\nca_file = "{ca}"\n'
    cfg = data_dir.parent / "gate.toml"
    cfg.write_text(settings_text)
    settings = load_settings(cfg)
    detector = load_detector((str(model),), 1, settings.detector)
    spool = Spool(data_dir, OwnerPublicKey.load(data_dir / "owner.pub"))
    indicator = Indicator()
    sinks = Sinks(settings, spool, indicator, detector.models)
    pipeline = Pipeline(detector, Gate(settings.gate, detector.sample_rate, detector.latency_samples), on_clip=sinks.submit)
    return Runtime(pipeline, Controller(), indicator), sinks, spool


def blocks_with(audio_parts, between=None, block=1280):
    """Blocks of each part in turn; ``between(i)`` runs after part i was fed (the loop is still running)."""
    for i, part in enumerate(audio_parts):
        for start in range(0, len(part) - block + 1, block):
            yield part[start : start + block]
        if between is not None:
            between(i)


@pytest.mark.parametrize("how", ["tmpfs", "injected"])
def test_disk_full_drops_the_clip_says_so_and_keeps_listening(how, tmp_path, loud_model, owner_key, monkeypatch, request):
    from firmware_py.sealing import generate_keys

    if how == "tmpfs":
        data_dir = request.getfixturevalue("small_disk") / "data"
    else:
        data_dir = tmp_path / "data"
    generate_keys(owner_key, data_dir / "owner.pub")
    runtime, sinks, spool = gate_in_process(data_dir, loud_model)
    spool.audit.append("exported", None, note="the audit log exists before the disk fills")  # its page is allocated
    full = {"on": True}
    if how == "tmpfs":
        filler = fill(data_dir.parent, leave_bytes=24 * 1024)  # room for audit lines, not for a ~200 KB clip
    else:
        real_fdopen = os.fdopen

        class FullFile:
            def __init__(self, handle):
                self._handle = handle

            def write(self, data):
                if full["on"]:
                    self._handle.write(data[:4096])  # a partial write, then the disk is full
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return self._handle.write(data)

            def __getattr__(self, name):
                return getattr(self._handle, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self._handle.close()

        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FullFile(real_fdopen(fd, *a, **k)))

    def space_back(part):
        if part == 0:
            deadline = time.monotonic() + 30
            while sinks.worker.pending and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(sinks.errors) == 1  # the first clip was dropped while the loop went on
            if how == "tmpfs":
                filler.unlink()
            full["on"] = False

    runtime.run(FileSource(blocks_with([WAKE, WAKE], space_back)))
    sinks.close(grace_s=1.0)
    assert runtime.pipeline.stats.clips == 2
    assert "No space left on device" in sinks.errors[0] and "dropped" in sinks.errors[0]
    dropped = events(data_dir, "dropped")
    assert len(dropped) == 1 and "No space left on device" in dropped[0]["reason"]
    captured = events(data_dir, "captured")
    assert len(captured) == 1 and captured[0]["clip_id"] != dropped[0]["clip_id"]  # the later clip is stored
    assert [c.clip_id for c in spool.list()] == [captured[0]["clip_id"]]
    assert not [p for p in data_dir.rglob("*") if p.name.endswith(".tmp")]  # the half-written temp file went
    assert AuditLog(data_dir / "audit.log").verify().ok
    assert_no_plaintext(data_dir, WAKE)


def test_disk_full_for_the_outbox_keeps_the_spool_copy(tmp_path, tls, loud_model, data_dir, monkeypatch):
    """The sink's copy cannot be written: the audit log says the sink will not get it; the owner's copy stays."""
    runtime, sinks, spool = gate_in_process(data_dir, loud_model, f"https://127.0.0.1:{free_port()}/", str(tls[0]))

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Outbox, "put", no_space)
    runtime.run(FileSource(blocks_with([WAKE])))
    sinks.close(grace_s=0.5)
    (dropped,) = events(data_dir, "dropped")
    assert dropped["sink"] == "hook" and "No space left on device" in dropped["reason"]
    assert [e["clip_id"] for e in events(data_dir, "captured")] == [c.clip_id for c in spool.list()] == [dropped["clip_id"]]


def test_a_crash_between_the_outbox_and_the_spool_loses_no_delivery(tmp_path, tls, loud_model, data_dir, monkeypatch):
    """Outbox copies are written before the spool copy: a crash between the two leaves nothing stored
    that no sink will get."""
    runtime, sinks, spool = gate_in_process(data_dir, loud_model, f"https://127.0.0.1:{free_port()}/", str(tls[0]))
    import firmware_py.spool as spool_module

    real = spool_module.write_atomically

    def crash_on_the_spool_copy(path, data, **kwargs):
        if path.parent == spool.dir:
            raise OSError(errno.EIO, "power cut")  # as far as the disk is concerned, the process died here
        return real(path, data, **kwargs)

    monkeypatch.setattr(spool_module, "write_atomically", crash_on_the_spool_copy)
    runtime.run(FileSource(blocks_with([WAKE])))
    sinks.close(grace_s=0.2)
    assert spool.list() == []
    assert len(list((data_dir / "outbox" / "hook").glob("*.clip"))) == 1  # the sink still gets it


# -- 3. kill -9 at random moments ----------------------------------------------------------------


def check_audit_after_a_crash(data_dir: Path) -> None:
    """The chain verifies, except perhaps a torn last line (cut off by the next append)."""
    log = data_dir / "audit.log"
    if not log.exists():
        return
    result = AuditLog(log).verify()
    if not result.ok:
        content = log.read_bytes()
        assert not content.endswith(b"\n") and result.entries == content.count(b"\n"), result.problem


def test_kill_9_at_random_moments(tmp_path, tls, loud_model, data_dir, owner_key):
    iterations = int(os.environ.get("WAKEGATE_KILL_ITERATIONS", "4"))
    rng = random.Random(int(os.environ.get("WAKEGATE_KILL_SEED", "7")))
    port = free_port()
    receiver = Receiver(tls[1], tls[2], port=port)
    cfg = config(tmp_path, data_dir, f"https://127.0.0.1:{port}/", tls[0])
    audio = np.concatenate([WAKE] * 12)
    source = wav(tmp_path, audio)
    kills = []
    try:
        # How long one whole run takes here, from "audio is flowing" to its end (in a data dir of its own),
        # so the kills land while it runs on a fast machine as on a slow one.
        timing_dir = tmp_path / "timing"
        timing_dir.mkdir()
        shutil.copytree(data_dir, timing_dir / "data")
        timing_cfg = config(timing_dir, timing_dir / "data", f"https://127.0.0.1:{port}/", tls[0])
        gate = subprocess.Popen(gate_command(loud_model, timing_cfg, "--input", source), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        gate.stdout.readline()
        flowing = time.monotonic()
        gate.stdout.read()
        assert gate.wait() == 0
        run_s = time.monotonic() - flowing
        receiver.requests.clear()  # what the timing run sent is not this device's
        for iteration in range(iterations):
            receiver.fail_next = rng.choice([0, 0, 1, 3])  # sometimes the first sends fail: kills land in retries too
            gate = subprocess.Popen(gate_command(loud_model, cfg, "--input", source), stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            gate.stdout.readline()  # "wakegate 0.1.0: replaying …": the models are loaded, audio is flowing
            time.sleep(rng.uniform(0.0, 0.9 * run_s))  # capture, sealing, storing and delivery all happen in here
            gate.send_signal(signal.SIGKILL)
            gate.wait()
            kills.append(gate.returncode)
            # No half-written clip: a temp file may be left by the kill, but it is never a clip.
            clips = {p.name for p in data_dir.rglob("*.clip")}
            assert not [name for name in clips if name.startswith(".") or "tmp" in name]
            assert_no_plaintext(data_dir, audio)
            check_audit_after_a_crash(data_dir)
        leftovers = [p for p in data_dir.rglob("*.tmp")]
        for path in leftovers:  # as if the restart came later than a write in progress could last
            os.utime(path, (time.time() - 2 * STALE_TEMP_S,) * 2)
        receiver.fail_next = 0
        result = run(loud_model, cfg, "--input", wav(tmp_path, noise(1.0, -60), "quiet.wav"))
        assert result.returncode == 0, result.stderr
        if "still waiting" in result.stdout:
            assert run(loud_model, cfg, "--input", wav(tmp_path, noise(1.0, -60), "quiet.wav")).returncode == 0
    finally:
        receiver.close()
    assert kills.count(-signal.SIGKILL) >= iterations / 2, kills  # the others had finished before the kill came
    assert not list(data_dir.rglob("*.tmp"))  # a start cleans what the crashes left
    assert not list((data_dir / "outbox" / "hook").glob("*"))  # every pending clip went out on the restart
    assert not list((data_dir / "spool").glob("*.clip"))  # and every copy that had gone out left the spool
    delivered = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    captured = {e["clip_id"] for e in events(data_dir, "captured")}
    assert captured <= delivered  # every clip the audit log says was captured reached the sink
    assert delivered == {e["clip_id"] for e in events(data_dir, "delivered")}  # and every delivery is in the audit log
    assert AuditLog(data_dir / "audit.log").verify().ok
    assert_no_plaintext(data_dir, audio)


def test_a_start_removes_spool_copies_delivered_before_a_crash(tmp_path, tls, loud_model, data_dir):
    """Killed after the sink said yes but before the spool copy went: the next start deletes it."""
    url = f"https://127.0.0.1:{free_port()}/"
    runtime, sinks, spool = gate_in_process(data_dir, loud_model, url, str(tls[0]))
    runtime.run(FileSource(blocks_with([WAKE, WAKE])))
    sinks.close(grace_s=0.1)
    delivered, pending = [c.clip_id for c in spool.list()]
    (data_dir / "outbox" / "hook" / f"{delivered}.clip").unlink()
    spool.audit.append("delivered", delivered, sink="hook", status=200)  # ... and then came kill -9
    sinks = gate_in_process(data_dir, loud_model, url, str(tls[0]))[1]
    sinks.close(grace_s=0.1)
    assert [c.clip_id for c in spool.list()] == [pending]  # the one still in the outbox stays
    assert events(data_dir, "deleted")[-1]["clip_id"] == delivered


def test_a_start_removes_only_stale_temp_files(tmp_path, data_dir, loud_model):
    spool_dir = data_dir / "spool"
    spool_dir.mkdir(mode=0o700)
    stale, fresh = spool_dir / ".a.clip.0000.tmp", spool_dir / ".b.clip.1111.tmp"
    stale.write_bytes(b"sealed bytes")
    fresh.write_bytes(b"a write in progress")
    os.utime(stale, (time.time() - 2 * STALE_TEMP_S,) * 2)
    gate_in_process(data_dir, loud_model)[1].close(0.1)
    assert not stale.exists() and fresh.exists()


# -- 4. wall-clock jumps -------------------------------------------------------------------------


class Clock:
    """A wall clock that can be set, and a boot clock beside it that only ever runs."""

    def __init__(self, now):
        self.now = now
        self.since_boot = 100.0

    def __call__(self):
        return self.now

    def run(self, seconds):
        self.now += seconds
        self.since_boot += seconds

    def steady(self):
        return self.since_boot


def a_clip(seconds=1.0):
    from firmware_py.detector import Detection
    from firmware_py.gate import Clip

    detection = Detection(wake_word="loud", sample_index=RATE, time_s=1.0, score=0.9, model_version="t")
    return Clip(audio=noise(seconds, -30), sample_rate=RATE, detection=detection, start_index=0,
                preroll_samples=RATE // 2, end_reason="silence")


def clock_spool(data_dir, clock, **kwargs):
    return Spool(data_dir, OwnerPublicKey.load(data_dir / "owner.pub"), clock=clock, steady_clock=clock.steady, **kwargs)


def test_clock_jumping_back_keeps_the_spool_in_write_order(data_dir):
    clock = Clock(2_000_000_000.0)
    spool = clock_spool(data_dir, clock, max_clips=3)
    first = spool.store(a_clip()).clip_id
    clock.run(3600)
    second = spool.store(a_clip()).clip_id
    clock.run(3600)
    clock.now -= 86400 * 30  # NTP, or a dead RTC battery, sets the clock a month back
    third = spool.store(a_clip()).clip_id
    fourth = spool.store(a_clip()).clip_id  # full: the oldest *written* clip goes, not the one stamped earliest
    assert [c.clip_id for c in spool.list()] == [second, third, fourth]
    (dropped,) = events(data_dir, "dropped")
    assert dropped["clip_id"] == first and dropped["reason"] == "spool full"
    assert spool.purge(older_than_s=7 * 86400) == []  # an hour or less old, whatever the clock says now
    clock.run(7 * 86400 - 1800)
    assert [c.clip_id for c in spool.purge(older_than_s=7 * 86400)] == [second]  # 7 days on, the oldest goes
    assert {c.clip_id for c in spool.purge()} == {third, fourth}  # purge everything means everything
    assert spool.list() == [] and AuditLog(data_dir / "audit.log").verify().ok


def test_clock_jumping_forward_does_not_purge_clips_early(data_dir):
    """A Pi without an RTC boots with the clock where it stopped; NTP then sets it years ahead."""
    clock = Clock(1_800_000_000.0)
    spool = clock_spool(data_dir, clock)
    before = spool.store(a_clip()).clip_id
    clock.run(60)
    clock.now += 3 * 365 * 86400  # NTP sync
    after = spool.store(a_clip()).clip_id
    assert spool.purge(older_than_s=86400) == [] and len(spool.list()) == 2
    clock.run(86400 - 30)  # a day after the first clip: only it is due
    assert [c.clip_id for c in spool.purge(older_than_s=86400)] == [before]
    assert [c.clip_id for c in spool.list()] == [after]
    # A restart after the jump (a new Spool, a new boot clock) sees the same ages.
    clock.since_boot = 5.0
    again = clock_spool(data_dir, clock)
    assert again.purge(older_than_s=86400) == [] and [c.clip_id for c in again.list()] == [after]


def test_clips_stored_while_the_clock_was_unset_count_from_when_it_is_set(data_dir):
    clock = Clock(100_000.0)  # January 1970: no RTC, no network yet
    spool = clock_spool(data_dir, clock)
    first = spool.store(a_clip()).clip_id
    clock.run(600)
    second = spool.store(a_clip()).clip_id
    # Power cut; the next boot gets the time from NTP before wakegate starts, so no jump is seen.
    clock = Clock(1_800_000_000.0)
    spool = clock_spool(data_dir, clock)
    assert spool.purge(older_than_s=86400) == []  # not 56 years old
    assert [c.clip_id for c in spool.list()] == [first, second]
    clock.run(86400 - 300)
    assert [c.clip_id for c in spool.purge(older_than_s=86400)] == [first]  # 600 s apart, as stored
    clock.run(600)
    assert [c.clip_id for c in spool.purge(older_than_s=86400)] == [second]


def test_clock_jumping_back_keeps_the_outbox_in_queue_order(tmp_path, data_dir):
    sink = SinkSettings(name="hook", type="webhook", url="https://127.0.0.1:9/")
    outbox = Outbox(data_dir, sink, OwnerPublicKey.load(data_dir / "owner.pub"))
    audit = AuditLog(data_dir / "audit.log")
    ids = []
    for n in range(3):
        clip = a_clip()
        meta = {"id": f"{n:032x}", "time": "2030-01-01T00:00:00Z", "wake_word": "loud", "score": 0.9,
                "sample_rate": RATE, "model_version": "t", "end_reason": "silence"}
        outbox.put(clip, meta, audit)
        ids.append(meta["id"])
        if n == 0:  # written while the wall clock was an hour ahead
            os.utime(outbox.pending()[0], ns=(time.time_ns() + 3600 * 10**9,) * 2)
    assert [p.stem for p in outbox.pending()] == ids


# -- 5. a short soak -----------------------------------------------------------------------------


def test_short_soak_has_no_fd_thread_or_memory_growth(tmp_path):
    """Five minutes of audio, a wake word every 20 s, the sink down 30 s of every 90: benchmarks/soak.py
    in a process of its own (so nothing else in it opens files or threads)."""
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "soak.py"), "--hours", str(5 / 60), "--burst-every", "20",
                             "--flap", "90", "--down", "30", "--sample-every", "30", "--grace", "30"],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    result = json.loads(result.stdout)
    assert result["clips_captured"] == result["detections"] >= 14
    assert result["requests_accepted"] == result["distinct_idempotency_keys"] == result["clips_captured"]
    assert result["drained"] and result["left_pending"] == 0 and result["store_errors"] == []
    assert result["audit_ok"] and result["spool_left"] == 0
    samples = result["samples"][1:]  # after the first clip: the delivery thread exists
    # No growth from the first half to the second (the receiver runs in the same process: a request in
    # flight there is a thread and two fds more whenever a sample is taken), and none left at the end.
    first, second = samples[: len(samples) // 2], samples[len(samples) // 2 :]
    assert max(s["fds"] for s in second) <= max(s["fds"] for s in first) + 2, samples
    assert max(s["threads"] for s in second) <= max(s["threads"] for s in first) + 1, samples
    assert samples[-1]["fds"] <= samples[0]["fds"] + 3 and samples[-1]["threads"] <= samples[0]["threads"], samples
    assert samples[-1]["rss_kib"] - samples[0]["rss_kib"] < 20 * 1024, samples
