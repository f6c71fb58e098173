import numpy as np
import pytest

from firmware_py.errors import ModelError
from firmware_py.features import FeatureConfig, LogMel, mel_filterbank


@pytest.mark.parametrize("piece", [1, 100, 160, 641, 16000])
def test_streaming_equals_batch(piece):
    audio = (np.random.default_rng(0).normal(0, 3000, 16000 * 2)).astype(np.int16)
    frontend = LogMel()
    expected = frontend.batch(audio)
    frontend.reset()
    streamed = np.concatenate([frontend.push(audio[i : i + piece]) for i in range(0, len(audio), piece)])
    assert streamed.shape == expected.shape == (200, 40)
    np.testing.assert_allclose(streamed, expected, atol=1e-4)


def test_each_sample_is_consumed_once():
    frontend = LogMel()
    assert len(frontend.push(np.zeros(159, np.int16))) == 0
    assert len(frontend.push(np.zeros(1, np.int16))) == 1
    assert len(frontend.push(np.zeros(320, np.int16))) == 2


def test_filterbank_covers_the_band():
    filters = mel_filterbank(FeatureConfig())
    assert filters.shape == (257, 40)
    assert (filters.sum(axis=0) > 0).all()


@pytest.mark.parametrize(
    "text",
    ['{"type": "mfcc"}', "not json", '{"hop": 0}', '{"fmax": 9000}', '{"unknown": 1}'],
)
def test_bad_feature_config_is_a_model_error(text):
    with pytest.raises(ModelError):
        FeatureConfig.from_json(text)
