"""The atheris fuzz targets in tests/fuzz/, as CI runs them.

* Every seed (tests/fuzz/corpus/<target>/) and every input that once found a bug
  (tests/fuzz/regressions/<target>/) is replayed through the target's ``one_input``: plain pytest,
  no atheris needed.
* When atheris is importable, each target also fuzzes for a couple of seconds (fixed seed, so a
  failure reproduces); the targets run side by side to keep CI time down. Longer runs by hand:
  ``python tests/fuzz/fuzz_config.py -max_total_time=30`` (see tests/fuzz/README.md).
"""

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).parent / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))
import fuzzlib  # noqa: E402

TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in FUZZ_DIR.glob("fuzz_*.py"))
CI_SECONDS = int(os.environ.get("WAKEGATE_FUZZ_SECONDS", "2"))
# Regressions whose fix is still open, each expected to fail until then: {(target, input name): why}.
OPEN: dict[tuple[str, str], str] = {}


def inputs():
    for target in TARGETS:
        for kind in ("corpus", "regressions"):
            folder = FUZZ_DIR / kind / target
            for path in sorted(folder.iterdir()) if folder.is_dir() else ():
                marks = [pytest.mark.xfail(strict=True, reason=OPEN[target, path.name])] if (target, path.name) in OPEN else []
                yield pytest.param(target, path, id=f"{target}/{kind}/{path.name}", marks=marks)


def test_every_target_has_seeds():
    for target in TARGETS:
        assert any((FUZZ_DIR / "corpus" / target).iterdir()), f"no seed corpus for {target}"


@pytest.mark.parametrize("target, path", list(inputs()))
def test_replay(target, path):
    module = importlib.import_module(f"fuzz_{target}")
    module.one_input(fuzzlib.read_input(path))


def test_fuzz_each_target_briefly(tmp_path):
    pytest.importorskip("atheris")
    jobs = {}
    pending = [t for t in TARGETS if not any(k[0] == t for k in OPEN)]  # a target with an open bug would just find it again
    running: dict[str, tuple[subprocess.Popen, Path]] = {}
    parallel = max(1, min(len(pending), os.cpu_count() or 1))
    deadline = time.monotonic() + 60 + 10 * len(pending)
    while pending or running:
        while pending and len(running) < parallel:
            target = pending.pop(0)
            work = tmp_path / target
            (work / "corpus").mkdir(parents=True)
            log = work / "log"
            command = [sys.executable, str(FUZZ_DIR / f"fuzz_{target}.py"), str(work / "corpus"), str(FUZZ_DIR / "corpus" / target),
                       f"-max_total_time={CI_SECONDS}", "-seed=1", "-timeout=10", "-rss_limit_mb=2048",
                       f"-artifact_prefix={work}/", "-print_final_stats=1"]
            running[target] = (subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT), log)
        for target, (process, log) in list(running.items()):
            if process.poll() is not None:
                jobs[target] = (process.returncode, log.read_text(errors="replace"))
                del running[target]
        if time.monotonic() > deadline:
            for process, _ in running.values():
                process.kill()
            pytest.fail(f"fuzz targets did not finish: {sorted(running)}")
        time.sleep(0.1)
    failed = {t: log[-3000:] for t, (rc, log) in jobs.items() if rc != 0}
    assert not failed, "\n\n".join(f"== {t} ==\n{log}" for t, log in failed.items())
