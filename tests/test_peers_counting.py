"""The peer benchmark's counting (benchmarks/peers.py): false accepts, clip peaks and the top negatives."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("peers", BENCHMARKS / "peers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RATE = 16000
HOP = 640  # one score per 40 ms


def scores_with_bumps(seconds: float, bumps: dict[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Scores every 40 ms, 0.1 everywhere except a 200 ms bump of the given height at each given second."""
    times = np.arange(HOP, int(seconds * RATE) + 1, HOP)
    scores = np.full(len(times), 0.1)
    for at, height in bumps.items():
        near = np.abs(times - at * RATE) <= 0.1 * RATE
        scores[near] = height * np.linspace(0.9, 1.0, near.sum())  # peak at the bump's end
    return times, scores


def test_false_accepts_count_each_crossing_once_per_refractory_period(peers):
    times, scores = scores_with_bumps(60, {5: 0.9, 6: 0.95, 30: 0.8, 50: 0.6})
    assert peers.false_accepts(times, scores, 0.7) == 2  # 5 s and 6 s are one event, then 30 s
    assert peers.false_accepts(times, scores, 0.5) == 3
    assert peers.false_accepts(times, scores, 0.99) == 0


def test_top_negatives_are_the_highest_moments_at_least_a_refractory_period_apart(peers):
    times, scores = scores_with_bumps(60, {5: 0.9, 6: 0.95, 30: 0.8, 50: 0.6})
    events = peers.top_events(times, scores, 3)
    assert [round(score, 3) for _, score in events] == [0.95, 0.8, 0.6]  # 5 s lies within 2 s of 6 s
    assert [round(sample / RATE, 1) for sample, _ in events] == [6.1, 30.1, 50.1]
    many = sorted(sample for sample, _ in peers.top_events(times, scores, 100))
    assert 20 <= len(many) <= 30 and min(np.diff(many)) >= 2 * RATE  # never two within 2 s, in 60 s


def test_a_clip_peak_looks_from_its_start_to_a_second_past_its_end(peers):
    times, scores = scores_with_bumps(20, {3: 0.9, 10.8: 0.7})
    peaks = peers.clip_peaks(times, scores, [2 * RATE, 9 * RATE, 15 * RATE], [3 * RATE, 10 * RATE, 16 * RATE])
    assert peaks[0] == pytest.approx(0.9) and peaks[1] == pytest.approx(0.7)  # 10.8 s is within a second
    assert peaks[2] == pytest.approx(0.1)


def test_the_table_has_a_false_accept_column_for_every_negative_stream_even_a_missing_one(peers):
    point = {"threshold": 0.8, "recall": {"positives": 1.0, "positives_noisy": 0.9}}
    row = {"engine": "wakegate", "at_zero_fa": point, "at_0.5_fa_per_hour": point,
           "at_default": {**point, "fa_per_hour": {"speech": 0.0, "music": 0.5, "noise": 0.0},
                          "fa_per_hour_all_negatives": 0.31},
           "cpu_s_per_audio_s": 0.004, "wall_ms_per_call": {"p50": 0.3, "p99": 0.6}, "peak_rss_mb": 90}
    harness = {**row, "engine": "harness-only", "cpu_s_per_audio_s": 0.0001}
    report = {"engines": [row], "harness_only": harness, "positive_clips": 150,
              "negative_hours": {"speech": 1.1, "music": 2.0, "noise": 0.1}, "negative_hours_total": 3.2}
    table = peers.markdown(report)
    assert "FA/h @ default: speech / debian speech / music / noise / all |" in table
    assert "| 0.00 / – / 0.50 / 0.00 / 0.31 |" in table  # no Debian speech stream in this run: a dash
