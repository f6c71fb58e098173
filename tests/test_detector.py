import numpy as np
import pytest

from firmware_py.detector import Detector, DetectorSettings, ScorePostProcessor
from firmware_py.errors import ConfigError
from firmware_py.model import StreamingModel
from synthetic_model import build_loud_sound_model, burst, noise


def test_threshold_crossing_fires_once_per_refractory_period():
    post = ScorePostProcessor(threshold=0.5, smoothing_frames=1, refractory_frames=10)
    scores = np.zeros(40)
    scores[[5, 6, 12, 16, 30]] = 0.9
    _, fired = post.process(scores)
    assert fired == [5, 16, 30]


def test_refractory_period_spans_blocks():
    post = ScorePostProcessor(threshold=0.5, smoothing_frames=1, refractory_frames=10)
    assert post.process(np.array([0.0, 0.9]))[1] == [1]
    assert post.process(np.full(5, 0.9))[1] == []
    assert post.process(np.full(10, 0.9))[1] == [5]  # frame 12 = 1 + 1 + 10


def test_smoothing_is_a_moving_average_that_streams():
    raw = np.random.default_rng(0).random(50)
    whole = ScorePostProcessor(0.99, 4, 0).process(raw)[0]
    post = ScorePostProcessor(0.99, 4, 0)
    parts = np.concatenate([post.process(raw[i : i + 7])[0] for i in range(0, 50, 7)])
    np.testing.assert_allclose(parts, whole)
    np.testing.assert_allclose(whole[3:], np.convolve(raw, np.ones(4) / 4, mode="valid"))
    np.testing.assert_allclose(whole[0], raw[0] / 4)


def _stream(seconds_before=1.0, seconds_after=1.0):
    return np.concatenate([noise(seconds_before), burst(0.3), noise(seconds_after)])


@pytest.mark.parametrize("block", [160, 640, 1000, 16000])
def test_detection_time_does_not_depend_on_block_size(loud_model, block):
    detector = Detector([StreamingModel(loud_model)])
    audio = _stream()
    detections = []
    for i in range(0, len(audio), block):
        detections += detector.process(audio[i : i + block])[0]
    assert len(detections) == 1
    # Three loud frames are needed: the detection lands 30 ms into the burst (+ window overlap).
    assert 1.0 < detections[0].time_s <= 1.05
    assert detections[0].wake_word == "loud" and detections[0].model_version == "test-1"


def test_several_models_run_side_by_side(tmp_path):
    first = StreamingModel(build_loud_sound_model(tmp_path / "a.onnx", wake_word="a"))
    second = StreamingModel(build_loud_sound_model(tmp_path / "b.onnx", wake_word="b", step_frames=3))
    detector = Detector([first, second], DetectorSettings(thresholds={"b": 0.99999}))
    detections, blocks = detector.process(_stream(), with_scores=True)
    assert [d.wake_word for d in detections] == ["a"]
    assert {b.wake_word for b in blocks} == {"a", "b"}


def test_duplicate_wake_words_are_refused(loud_model):
    with pytest.raises(ConfigError, match="same wake word"):
        Detector([StreamingModel(loud_model), StreamingModel(loud_model)])


@pytest.mark.parametrize("kwargs", [{"smoothing_frames": 0}, {"threshold": 1.5}, {"refractory_s": -1}])
def test_bad_detector_settings(kwargs):
    with pytest.raises(ConfigError):
        DetectorSettings(**kwargs)
