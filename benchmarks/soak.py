"""Soak: hours of audio replayed fast through the running gate, with wake words and a flapping sink.

Runs in one process exactly what ``wakegate run`` wires together (Runtime → Pipeline → Sinks: the
spool, the audit log, an HTTPS webhook outbox and its delivery thread) on synthetic audio: quiet
noise with a "wake word" burst and a spoken command every ``--burst-every`` seconds of audio, for
the test model that fires on loud sound (tests/synthetic_model.py). The webhook is a real HTTPS
server on loopback (tests/https_server.py) that answers 503 for ``--down`` seconds of audio out of
every ``--flap`` (it flaps). Prints JSON: RSS, open file descriptors and threads sampled over time,
per-block latency p50/p99 for every hour of audio, clips captured, stored, delivered, requests.

    .venv/bin/python benchmarks/soak.py [--hours 24] [--burst-every 180] [--flap 3600 --down 1200]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from firmware_py.config import load_settings  # noqa: E402
from firmware_py.delivery import wait_until_idle  # noqa: E402
from firmware_py.detector import load_detector  # noqa: E402
from firmware_py.gate import Gate  # noqa: E402
from firmware_py.indicator import Indicator  # noqa: E402
from firmware_py.pipeline import Pipeline  # noqa: E402
from firmware_py.runtime import Controller, FileSource, Runtime  # noqa: E402
from firmware_py.sealing import OwnerPublicKey, generate_keys  # noqa: E402
from firmware_py.sinks import Sinks  # noqa: E402
from firmware_py.spool import Spool  # noqa: E402
from https_server import Receiver, make_test_ca  # noqa: E402
from synthetic_model import build_loud_sound_model, burst, noise  # noqa: E402

RATE = 16000


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


def audio_blocks(seconds: float, block: int, burst_every_s: float):
    """Quiet noise (cycled, so generating it costs nothing), and every ``burst_every_s`` a wake word
    followed by a second of command and silence that ends the clip."""
    quiet = noise(10.0, -60, seed=7)
    event = np.concatenate([burst(0.3), noise(1.0, -30, seed=2), noise(1.5, -65, seed=3)])
    total = int(seconds * RATE)
    period = int(burst_every_s * RATE)
    position = 0
    while position + block <= total:
        phase = position % period
        start = period // 2
        if start <= phase < start + len(event):
            offset = phase - start
            chunk = event[offset : offset + block]
            if len(chunk) < block:
                chunk = np.concatenate([chunk, quiet[: block - len(chunk)]])
        else:
            offset = position % (len(quiet) - block)
            chunk = quiet[offset : offset + block]
        yield chunk
        position += block


def soak(hours: float, burst_every_s: float, flap_s: float, down_s: float, sample_every_s: float,
         folder: Path, grace_s: float = 120.0) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    tls = make_test_ca(folder)
    receiver = Receiver(tls[1], tls[2], keep_bodies=False)  # the bodies of a day of clips would be the RSS growth
    data_dir = folder / "data"
    generate_keys(folder / "owner.key", data_dir / "owner.pub")
    model = build_loud_sound_model(folder / "loud.onnx")
    config = folder / "wakegate.toml"
    config.write_text(f'[models]\nmodels = ["{model}"]\nallow_unsigned = true\n[spool]\ndir = "{data_dir}"\n'
                      f'[[sinks]]\nname = "hook"\ntype = "webhook"\nurl = "https://127.0.0.1:{receiver.port}/"\n'
                      f'ca_file = "{tls[0]}"\n')
    settings = load_settings(config)
    m = settings.models
    detector = load_detector(m.models, m.threads, settings.detector, m.allow_unsigned, m.trusted_keys)
    gate = Gate(settings.gate, detector.sample_rate, detector.latency_samples)
    spool = Spool(data_dir, OwnerPublicKey.load(data_dir / "owner.pub"), settings.spool.max_clips,
                  int(settings.spool.max_mb * 2**20))
    indicator = Indicator(state_file=data_dir / "indicator")
    sinks = Sinks(settings, spool, indicator, detector.models)
    pipeline = Pipeline(detector, gate, on_clip=sinks.submit)
    block = settings.audio.block_samples
    latencies: list[float] = []
    hourly: list[dict] = []
    samples: list[dict] = []
    blocks_per_hour = int(3600 * RATE / block)
    blocks_per_sample = max(1, int(sample_every_s * RATE / block))
    down_blocks, flap_blocks = int(down_s * RATE / block), max(1, int(flap_s * RATE / block))
    feed = pipeline.feed
    counter = {"blocks": 0}
    started = time.monotonic()

    def sample() -> dict:
        return {"audio_h": round(counter["blocks"] * block / RATE / 3600, 3), "wall_s": round(time.monotonic() - started, 1),
                "rss_kib": rss_kib(), "fds": open_fds(), "threads": os_threads(), "py_threads": threading.active_count(),
                "clips": pipeline.stats.clips, "delivered": sinks.delivered, "pending": sinks.pending}

    def timed_feed(chunk):
        n = counter["blocks"]
        if flap_s and down_s:  # the receiver is down for the first down_s of every flap_s
            receiver.fail_next = 10**9 if n % flap_blocks < down_blocks else 0
        t0 = time.perf_counter()
        feed(chunk)
        latencies.append(time.perf_counter() - t0)
        counter["blocks"] = n + 1
        if counter["blocks"] % blocks_per_sample == 0:
            samples.append(sample())
        if len(latencies) >= blocks_per_hour:
            flush_hour()

    def flush_hour():
        values = np.array(latencies) * 1000
        hourly.append({"hour": len(hourly), "blocks": len(values), "p50_ms": round(float(np.percentile(values, 50)), 3),
                       "p99_ms": round(float(np.percentile(values, 99)), 3), "max_ms": round(float(values.max()), 3)})
        latencies.clear()

    pipeline.feed = timed_feed
    samples.append(sample())
    runtime = Runtime(pipeline, Controller(), indicator)
    runtime.run(FileSource(audio_blocks(hours * 3600, block, burst_every_s)))
    if latencies:
        flush_hour()
    audio_wall_s = time.monotonic() - started
    receiver.fail_next = 0
    sinks.worker.close()
    idle = wait_until_idle(sinks.deliverers, grace_s)
    time.sleep(0.5)  # the receiver's handler thread for the last request (it lives in this process) ends
    samples.append(sample())
    left = sinks.close(grace_s=5.0)
    receiver.close()
    audit = spool.audit.verify()
    keys = [r["headers"].get("Idempotency-Key") for r in receiver.requests]
    rss = [s["rss_kib"] for s in samples]
    return {
        "audio_hours": hours,
        "block_ms": block * 1000 // RATE,
        "burst_every_s": burst_every_s,
        "flap": {"period_s": flap_s, "down_s": down_s},
        "wall_s": round(time.monotonic() - started, 1),
        "audio_wall_s": round(audio_wall_s, 1),
        "realtime_factor": round(hours * 3600 / audio_wall_s, 1),
        "detections": pipeline.stats.detections,
        "clips_captured": pipeline.stats.clips,
        "clips_stored": sum(1 for e in spool.audit.entries() if e.get("event") == "captured"),
        "clips_delivered": sinks.delivered,
        "requests_accepted": len(keys),
        "distinct_idempotency_keys": len(set(keys)),
        "left_pending": left,
        "drained": idle,
        "store_errors": sinks.errors,
        "spool_left": len(spool.list()),
        "audit_ok": audit.ok,
        "audit_entries": audit.entries,
        "rss_kib": {"start": rss[0], "end": rss[-1], "max": max(rss)},
        "fds": {"start": samples[0]["fds"], "end": samples[-1]["fds"], "max": max(s["fds"] for s in samples)},
        "threads": {"start": samples[0]["threads"], "end": samples[-1]["threads"], "max": max(s["threads"] for s in samples)},
        "latency_per_hour": hourly,
        "samples": samples,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="hours of audio (default 24)")
    parser.add_argument("--burst-every", type=float, default=180.0, help="seconds of audio between wake words")
    parser.add_argument("--flap", type=float, default=3600.0, help="sink on/off period, seconds of audio")
    parser.add_argument("--down", type=float, default=1200.0, help="seconds of audio of each period the sink answers 503")
    parser.add_argument("--sample-every", type=float, default=1800.0, help="seconds of audio between RSS/fd/thread samples")
    parser.add_argument("--grace", type=float, default=120.0, help="wall seconds to let the outbox drain at the end")
    parser.add_argument("--verbose", action="store_true", help="the gate's log lines (indicator, delivery failures)")
    args = parser.parse_args(argv)
    if not args.verbose:
        logging.getLogger("wakegate").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="wakegate-soak-") as tmp:
        result = soak(args.hours, args.burst_every, args.flap, args.down, args.sample_every, Path(tmp), args.grace)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
