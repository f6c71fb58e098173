"""Evaluation of labelled fixtures: counting, agreement with `wakegate run`, parallelism, reports."""

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import soundfile as sf

from firmware_py.config import load_settings
from firmware_py.errors import WakegateError
from firmware_py.evaluate import EvalSettings, evaluate, summarise
from firmware_py.fixtures import FixtureError, load_fixtures, write_labels
from synthetic_model import burst, noise

RATE = 16000


def wakegate(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """Six files with known truth for the loud-sound model: 4 wake words, 1 missed, 2 false accepts."""
    folder = tmp_path_factory.mktemp("pack")
    rows = []

    def write(name, parts, labels):
        sf.write(folder / name, np.concatenate(parts), RATE, subtype="PCM_16")
        rows.extend([(name, *label) for label in labels] or [(name, "none", None, None)])

    write("a.wav", [noise(2.0, -60), burst(0.3), noise(2.0, -60)], [("loud", 2.0, 2.3)])
    write("b.wav", [noise(1.0, -60), burst(0.3), noise(3.0, -60), burst(0.3), noise(2.0, -60)], [("loud", 1.0, 1.3), ("loud", 4.3, 4.6)])
    write("c.wav", [noise(3.0, -60), noise(0.3, -45), noise(2.0, -60)], [("loud", 3.0, 3.3)])  # too quiet: missed
    write("d.wav", [noise(5.0, -60)], [])
    write("e.wav", [noise(2.0, -60), burst(0.3), noise(3.0, -60), burst(0.3), noise(1.0, -60)], [])  # 2 false accepts
    (folder / "sub").mkdir()
    write("sub/f.flac", [noise(1.0, -60), burst(0.4), noise(1.5, -60)], [("loud", 1.0, 1.4)])
    write_labels(folder, rows)
    return folder


def settings_for(model):
    return load_settings(None, {"models": {"models": [str(model)]}})


def test_counting_recall_false_accepts_and_latency(pack, loud_model):
    fixtures = load_fixtures(pack)
    assert [f.name for f in fixtures] == ["a.wav", "b.wav", "c.wav", "d.wav", "e.wav", "sub/f.flac"]
    settings = settings_for(loud_model)
    results = evaluate(fixtures, settings)
    summary = summarise(results, {"loud": 0.5}, EvalSettings())["loud"]
    assert (summary["positives"], summary["detected"], summary["false_accepts"]) == (5, 4, 2)
    assert summary["recall"] == 0.8 and summary["false_reject_rate"] == 0.2
    audio_s = sum(r.duration_s for r in results)
    windows_s = 5 * 1.3 + 0.1  # four 0.3 s words and one 0.4 s, each plus the 1 s hit window
    assert summary["negative_hours"] == pytest.approx((audio_s - windows_s) / 3600, abs=1e-4)
    assert summary["fa_per_hour"] == pytest.approx(2 / ((audio_s - windows_s) / 3600), rel=1e-3)
    # Detections land 30 ms into the burst: the loud model needs three loud frames.
    assert -0.4 < summary["latency_s"]["p50"] < -0.2
    sweep = {s["threshold"]: s for s in summary["sweep"]}
    assert sweep[0.5]["detected"] == 4 and sweep[0.99]["false_accepts"] <= 2
    recalls = [s["recall"] for s in summary["sweep"]]
    assert recalls == sorted(recalls, reverse=True)  # a higher threshold never finds more


def test_eval_and_run_agree_on_every_detection(pack, loud_model, tmp_path, data_dir):
    report_path = tmp_path / "r.json"
    assert wakegate("eval", pack, "--model", loud_model, "--json", report_path, "--jobs", "1").returncode == 0
    report = json.loads(report_path.read_text())
    for entry in report["files"]:
        run = wakegate("run", "--input", pack / entry["file"], "--model", loud_model, "--data-dir", data_dir)
        detect = wakegate("detect", pack / entry["file"], "--model", loud_model)
        run_times = [float(line.split(" at ")[1].split(" s")[0]) for line in run.stdout.splitlines() if line.startswith("detected")]
        detect_times = [json.loads(line)["time_s"] for line in detect.stdout.splitlines()]
        eval_times = [d["time_s"] for d in entry["detections"]]
        assert detect_times == eval_times
        assert run_times == pytest.approx(eval_times, abs=0.006)  # run prints two decimals


def strip_timing(text):
    report = json.loads(text)
    report.pop("timing")
    return json.dumps(report, sort_keys=True)


def test_results_do_not_depend_on_parallelism(pack, loud_model, tmp_path):
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    assert wakegate("eval", pack, "--model", loud_model, "--json", one, "--jobs", "1").returncode == 0
    assert wakegate("eval", pack, "--model", loud_model, "--json", two, "--jobs", "2").returncode == 0
    assert strip_timing(one.read_text()) == strip_timing(two.read_text())
    assert json.loads(two.read_text())["timing"]["workers"] == 2


def test_dask_cluster_gives_the_same_results(pack, loud_model, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = tmp_path / "local.json"
    assert wakegate("eval", pack, "--model", loud_model, "--json", local, "--jobs", "1").returncode == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        dask = tmp_path / "dask.json"
        result = wakegate("eval", pack, "--model", loud_model, "--json", dask, "--scheduler", cluster.scheduler_address)
        assert result.returncode == 0, result.stderr
    assert strip_timing(local.read_text()) == strip_timing(dask.read_text())
    assert json.loads(dask.read_text())["timing"]["workers"] == 2


def test_junit_report_and_exit_status_follow_the_targets(pack, loud_model, tmp_path):
    junit = tmp_path / "eval.xml"
    failing = wakegate("eval", pack, "--model", loud_model, "--junit", junit, "--min-recall", "0.9", "--max-fa-per-hour", "5000", "--jobs", "1")
    assert failing.returncode == 1
    assert "FAIL: loud recall: recall 0.8000 < 0.9 (4/5)" in failing.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["recall"].find("failure") is not None and cases["fa_per_hour"].find("failure") is None
    passing = wakegate("eval", pack, "--model", loud_model, "--junit", junit, "--min-recall", "0.8", "--jobs", "1")
    assert passing.returncode == 0 and "pass: loud recall" in passing.stdout


def test_plots_are_written(pack, loud_model, tmp_path):
    pytest.importorskip("matplotlib")
    result = wakegate("eval", pack, "--model", loud_model, "--plots", tmp_path / "plots", "--timeline", "b.wav", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    for name in ("det.png", "timeline.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "labels, fragment",
    [
        (None, "no labels.csv or labels.jsonl"),
        ("file,wake\nx.wav,alexa\n", "header must name"),
        ("file,wake_word,start_s,end_s\nx.wav,alexa,2,1\n", "is not after start_s"),
        ("file,wake_word,start_s,end_s\nx.wav,alexa,a,1\n", "is not a number"),
        ("file,wake_word,start_s,end_s\n../x.wav,alexa,1,2\n", "inside the fixture folder"),
        ("file,wake_word,start_s,end_s\nmissing.wav,none,,\nx.wav,none,,\n", "does not exist"),
        ("file,wake_word,start_s,end_s\n", "no rows"),
    ],
)
def test_bad_fixture_folders_are_clear_errors(tmp_path, labels, fragment):
    sf.write(tmp_path / "x.wav", np.zeros(160, np.int16), RATE)
    if labels is not None:
        (tmp_path / "labels.csv").write_text(labels)
    with pytest.raises(FixtureError, match=fragment):
        load_fixtures(tmp_path)


def test_jsonl_labels_and_unlabelled_files(tmp_path):
    sf.write(tmp_path / "x.wav", np.zeros(160, np.int16), RATE)
    (tmp_path / "labels.jsonl").write_text('{"file": "x.wav", "wake_word": "Alexa", "start_s": 0.1, "end_s": 0.5}\n\n')
    (fixture,) = load_fixtures(tmp_path)
    assert fixture.utterances[0].wake_word == "alexa"
    sf.write(tmp_path / "y.wav", np.zeros(160, np.int16), RATE)
    with pytest.raises(FixtureError, match="have no label, e.g. y.wav"):
        load_fixtures(tmp_path)


def test_eval_cli_errors_are_one_line(tmp_path, loud_model):
    result = wakegate("eval", tmp_path / "nope", "--model", loud_model)
    assert result.returncode == 2 and result.stderr.strip() == f"wakegate: error: fixture folder not found: {tmp_path / 'nope'}"


@pytest.mark.skipif(not (shutil.which("espeak-ng") or shutil.which("flite")), reason="needs espeak-ng or flite")
def test_fixtures_make_builds_a_labelled_pack(tmp_path):
    out = tmp_path / "pack"
    result = wakegate("fixtures", "make", out, "--positives", "2", "--negatives", "2", "--snr", "10", "--reverb")
    assert result.returncode == 0, result.stderr
    fixtures = load_fixtures(out)
    assert len(fixtures) == 4
    positives = [f for f in fixtures if f.utterances]
    assert len(positives) == 2
    for fixture in positives:
        (utterance,) = fixture.utterances
        audio, rate = sf.read(fixture.path)
        assert rate == RATE and 0.4 <= utterance.start_s < utterance.end_s < len(audio) / RATE
        assert 0.2 < utterance.end_s - utterance.start_s < 1.5
    again = wakegate("fixtures", "make", out)
    assert again.returncode == 2 and "not empty" in again.stderr


def test_fixtures_make_without_an_engine_is_a_clear_error(tmp_path, monkeypatch):
    from firmware_py.fixture_maker import make_fixtures

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(WakegateError, match="no text-to-speech engine found"):
        make_fixtures(tmp_path / "p", "alexa", 1, 1)
