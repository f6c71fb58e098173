"""Whole-pipeline cost on a long replay, one thread: what the gate costs a Raspberry Pi-class core.

Replays audio (default: the bundled demo fixture, looped to --minutes) through exactly the loop that
``wakegate run`` uses (detector → gate → spool) and prints JSON: CPU seconds per audio second for
the whole pipeline and for its parts measured on the same audio (features alone, detector alone),
p50/p99 wall time per block (80 ms by default), and peak RSS.

    .venv/bin/python benchmarks/pipeline.py [--minutes 30] [--model alexa] [--audio FILE]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/onnxruntime load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from firmware_py.audio_in import file_blocks  # noqa: E402
from firmware_py.cli import DEMO_FIXTURE  # noqa: E402
from firmware_py.config import AudioSettings  # noqa: E402
from firmware_py.detector import Detector  # noqa: E402
from firmware_py.features import LogMel  # noqa: E402
from firmware_py.gate import Gate, GateSettings  # noqa: E402
from firmware_py.model import StreamingModel, resolve_model  # noqa: E402
from firmware_py.pipeline import Pipeline, SinkWorker  # noqa: E402
from firmware_py.sealing import OwnerPublicKey, generate_keys  # noqa: E402
from firmware_py.spool import Spool  # noqa: E402


def generate_owner(folder: Path) -> OwnerPublicKey:
    """Clips are sealed as in `wakegate run`, to a throwaway owner key."""
    generate_keys(folder / "owner.key", folder / "owner.pub")
    return OwnerPublicKey.load(folder / "owner.pub")

RATE = 16000
BLOCK = AudioSettings().block_samples  # the block `wakegate run` uses by default


def load_blocks(path: Path, minutes: float) -> list[np.ndarray]:
    audio = np.concatenate(list(file_blocks(path, BLOCK)))
    repeats = int(np.ceil(minutes * 60 * RATE / len(audio)))
    audio = np.tile(audio, repeats)[: int(minutes * 60 * RATE)]
    return [audio[i : i + BLOCK] for i in range(0, len(audio) - BLOCK + 1, BLOCK)]


def cpu_of(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--model", default="alexa")
    parser.add_argument("--audio", type=Path, default=DEMO_FIXTURE)
    args = parser.parse_args()

    blocks = load_blocks(args.audio, args.minutes)
    audio_s = len(blocks) * BLOCK / RATE
    model_path = resolve_model(args.model)

    frontend = LogMel()
    features_cpu = cpu_of(lambda: [frontend.push(b) for b in blocks])

    detector = Detector([StreamingModel(model_path, threads=1)])
    detector_cpu = cpu_of(lambda: [detector.process(b) for b in blocks])

    with tempfile.TemporaryDirectory() as data_dir:
        detector = Detector([StreamingModel(model_path, threads=1)])
        gate = Gate(GateSettings(), RATE, detector.latency_samples)
        owner = generate_owner(Path(data_dir))
        worker = SinkWorker(Spool(Path(data_dir), owner).store)
        pipeline = Pipeline(detector, gate, on_clip=worker.submit)
        per_block = np.zeros(len(blocks))
        cpu_start = time.process_time()
        for i, block in enumerate(blocks):
            t0 = time.perf_counter_ns()
            pipeline.feed(block)
            per_block[i] = time.perf_counter_ns() - t0
        pipeline.finish()
        worker.close()
        pipeline_cpu = time.process_time() - cpu_start

    report = {
        "benchmark": "pipeline",
        "model": str(model_path.name),
        "audio": str(args.audio.name),
        "audio_s": round(audio_s, 1),
        "block_ms": BLOCK * 1000 // RATE,
        "threads": 1,
        "cpu_s_per_audio_s": {
            "pipeline": round(pipeline_cpu / audio_s, 5),
            "detector": round(detector_cpu / audio_s, 5),
            "features": round(features_cpu / audio_s, 5),
        },
        "realtime_factor": round(audio_s / pipeline_cpu, 1),
        "block_wall_us": {
            "p50": round(float(np.percentile(per_block, 50)) / 1000, 1),
            "p99": round(float(np.percentile(per_block, 99)) / 1000, 1),
            "max": round(float(per_block.max()) / 1000, 1),
        },
        "detections": pipeline.stats.detections,
        "clips": pipeline.stats.clips,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
