"""Evaluation reports: JSON for machines, JUnit XML for CI, text for people, PNG plots (optional).

The JSON is byte-identical for the same fixtures, models and settings; only the ``timing`` block
changes between runs (and is the only place wall-clock figures appear).
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from . import __version__
from .errors import WakegateError


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_report(folder, settings, detector, eval_settings, results, summary, timing: dict) -> dict:
    return {
        "wakegate_version": __version__,
        "fixtures": {
            "folder": Path(folder).name,
            "files": len(results),
            "audio_hours": round(sum(r.duration_s for r in results) / 3600, 4),
        },
        "models": [
            {"wake_word": m.wake_word, "version": m.version, "file": m.path.name, "sha256": sha256_of(m.path)}
            for m in detector.models
        ],
        "counting": {
            "hit_window_s": eval_settings.hit_window_s,
            "refractory_s": settings.detector.refractory_s,
            "smoothing_frames": settings.detector.smoothing_frames,
            "block_ms": settings.audio.block_ms,
        },
        "results": summary,
        "files": [
            {"file": r.name, "duration_s": round(r.duration_s, 3), "detections": r.detections} for r in results
        ],
        "timing": timing,
    }


def dumps(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def check_targets(summary: dict, min_recall: float | None, max_fa_per_hour: float | None) -> list[tuple[str, str, str | None]]:
    """(wake word, check, failure message or None) for each target given."""
    checks = []
    for wake_word, result in summary.items():
        if min_recall is not None:
            recall = result["recall"]
            failure = None
            if recall is None:
                failure = "no labelled positives to measure recall on"
            elif recall < min_recall:
                failure = f"recall {recall:.4f} < {min_recall} ({result['detected']}/{result['positives']})"
            checks.append((wake_word, "recall", failure))
        if max_fa_per_hour is not None:
            rate = result["fa_per_hour"]
            failure = None
            if rate is None:
                failure = "no negative audio to measure false accepts on"
            elif rate > max_fa_per_hour:
                failure = f"false accepts {rate:.3f}/h > {max_fa_per_hour}/h ({result['false_accepts']} in {result['negative_hours']:.3f} h)"
            checks.append((wake_word, "fa_per_hour", failure))
    return checks


def junit_xml(checks: list[tuple[str, str, str | None]], wall_s: float) -> bytes:
    failures = sum(1 for *_, failure in checks if failure)
    suite = ET.Element("testsuite", name="wakegate-eval", tests=str(len(checks)), failures=str(failures),
                       errors="0", skipped="0", time=f"{wall_s:.3f}")
    for wake_word, check, failure in checks:
        case = ET.SubElement(suite, "testcase", classname=f"wakegate.{wake_word}", name=check, time="0")
        if failure:
            ET.SubElement(case, "failure", message=failure, type="threshold").text = failure
    suites = ET.Element("testsuites", name="wakegate", tests=str(len(checks)), failures=str(failures))
    suites.append(suite)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


def text_summary(report: dict) -> str:
    lines = [
        f"{report['fixtures']['files']} file(s), {report['fixtures']['audio_hours'] * 60:.1f} min of audio; "
        f"hit window {report['counting']['hit_window_s']} s after the wake word, refractory {report['counting']['refractory_s']} s"
    ]
    for wake_word, r in report["results"].items():
        recall = "n/a" if r["recall"] is None else f"{r['recall']:.3f} ({r['detected']}/{r['positives']})"
        fa = "n/a" if r["fa_per_hour"] is None else f"{r['fa_per_hour']:.2f}/h ({r['false_accepts']} in {r['negative_hours']:.3f} h)"
        latency = r["latency_s"]
        lat = "n/a" if latency["p50"] is None else f"p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s"
        lines.append(f"{wake_word} @ {r['threshold']:.2f}: recall {recall}, false accepts {fa}, latency {lat}")
        zero_fa = [s for s in r["sweep"] if s["false_accepts"] == 0 and s["recall"]]
        if zero_fa:
            best = max(zero_fa, key=lambda s: (s["recall"], -s["threshold"]))
            lines.append(f"  best recall with no false accept: {best['recall']:.3f} at threshold {best['threshold']:.2f}")
    timing = report["timing"]
    lines.append(f"{timing['wall_s']:.1f} s wall, {timing['realtime_factor']:.0f}x real time, {timing['workers']} worker(s)")
    return "\n".join(lines)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise WakegateError("plots need matplotlib: pip install 'wakegate[eval]'") from None
    return plt


def plot_det(summary: dict, path: Path) -> Path:
    """DET curve: false-reject rate against false accepts per hour, one line per wake word."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4.5), dpi=120)
    for wake_word, result in summary.items():
        points = [(s["fa_per_hour"], s["false_reject_rate"]) for s in result["sweep"] if s["fa_per_hour"] is not None and s["false_reject_rate"] is not None]
        if not points:
            continue
        fa, frr = zip(*points)
        floor = 0.01  # zero false accepts still needs a place on a log axis
        axes.plot([max(f, floor) for f in fa], frr, marker=".", label=wake_word)
        op = next((s for s in result["sweep"] if abs(s["threshold"] - result["threshold"]) < 0.005), None)
        if op is not None and op["fa_per_hour"] is not None:
            axes.plot([max(op["fa_per_hour"], floor)], [op["false_reject_rate"]], "o", color="black")
    axes.set_xscale("symlog", linthresh=0.1)
    axes.set_xlabel("false accepts per hour")
    axes.set_ylabel("false-reject rate")
    axes.set_ylim(-0.02, 1.02)
    axes.grid(True, alpha=0.3)
    axes.legend()
    axes.set_title("DET curve (black dot: operating threshold)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def plot_timeline(fixture, times_scores: dict[str, tuple], thresholds: dict[str, float], path: Path) -> Path:
    """Score timeline of one file, with its labelled wake words shaded."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 3.5), dpi=120)
    for u in fixture.utterances:
        axes.axvspan(u.start_s, u.end_s, color="tab:green", alpha=0.25)
    for wake_word, (times, scores) in times_scores.items():
        line = axes.plot(times, scores, linewidth=1, label=wake_word)[0]
        axes.axhline(thresholds[wake_word], color=line.get_color(), linestyle="--", linewidth=0.8)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("score")
    axes.set_ylim(-0.02, 1.02)
    axes.set_title(f"{fixture.name} (shaded: labelled wake words; dashed: threshold)")
    axes.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
