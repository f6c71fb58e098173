"""Parallel speed-up of `wakegate eval`: the same fixture pack with 1 worker and with one per core.

Builds a pack of --files copies of the bundled demo fixture (labelled), then times evaluate() inline
(one process, the baseline) and on a local process pool. Prints JSON with wall times, the speed-up,
and whether the results were identical (they must be).

    .venv/bin/python benchmarks/eval_parallel.py [--files 48] [--model alexa]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from firmware_py.cli import DEMO_FIXTURE  # noqa: E402
from firmware_py.config import load_settings  # noqa: E402
from firmware_py.evaluate import EvalSettings, default_jobs, evaluate, local_executor  # noqa: E402
from firmware_py.fixtures import load_fixtures, write_labels  # noqa: E402

# Where the wake word is in the demo fixture (seconds), for the labels.
DEMO_WAKE_WORD = ("alexa", 7.19, 7.77)  # measured from its waveform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--model", default="alexa")
    args = parser.parse_args()
    settings = load_settings(None, {"models": {"models": [args.model]}})
    eval_settings = EvalSettings()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.files):
            shutil.copy(DEMO_FIXTURE, folder / f"demo_{i:03d}.flac")
        write_labels(folder, [(f"demo_{i:03d}.flac", *DEMO_WAKE_WORD) for i in range(args.files)])
        fixtures = load_fixtures(folder)
        runs = {}
        for workers in sorted({1, default_jobs()}):
            start = time.monotonic()
            if workers == 1:
                results = evaluate(fixtures, settings, eval_settings)
            else:
                with local_executor(workers) as executor:
                    results = evaluate(fixtures, settings, eval_settings, executor)
            runs[workers] = (time.monotonic() - start, results)
    audio_s = sum(r.duration_s for r in runs[1][1])
    baseline = runs[1][0]
    same = all([r.detections for r in runs[w][1]] == [r.detections for r in runs[1][1]] for w in runs)
    print(json.dumps({
        "benchmark": "eval_parallel",
        "files": args.files,
        "audio_s": round(audio_s, 1),
        "cores": default_jobs(),
        "wall_s": {str(w): round(t, 2) for w, (t, _) in runs.items()},
        "realtime_factor": {str(w): round(audio_s / t, 1) for w, (t, _) in runs.items()},
        "speedup_over_one_worker": {str(w): round(baseline / t, 2) for w, (t, _) in runs.items()},
        "identical_results": same,
    }, indent=2))


if __name__ == "__main__":
    main()
