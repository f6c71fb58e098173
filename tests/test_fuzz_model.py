"""Property-based tests: a model file with arbitrary metadata values, or arbitrary bytes, loads or
fails with a one-line ModelError."""

import json
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzzlib  # noqa: E402
from firmware_py.errors import ModelError  # noqa: E402
from firmware_py.features import FeatureConfig  # noqa: E402
from firmware_py.model import StreamingModel  # noqa: E402
from synthetic_model import build_loud_sound_model  # noqa: E402

FUZZ = settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
_DIR = Path(tempfile.mkdtemp(prefix="wakegate-test-fuzz-model-"))
KEYS = ("format", "wake_word", "version", "sample_rate", "features", "step_frames", "threshold")
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
plausible = {
    "format": st.sampled_from(["1", "2", "", " 1"]),
    "sample_rate": st.sampled_from(["16000", "8000", "1e4", "-1", "99999999999999999999", "nan"]),
    "step_frames": st.sampled_from(["4", "0", "-3", "1.5", "10**9", "99999999999999999999"]),
    "threshold": st.sampled_from(["0.5", "nan", "inf", "1", "0", "-0.1", "1e-300"]),
}
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                           max_leaves=6)
feature_fields = ("type", "sample_rate", "win", "hop", "n_fft", "n_mels", "fmin", "fmax")


def load(path: Path) -> None:
    result = fuzzlib.expect_clean(StreamingModel, path, errors=ModelError)
    assert result is None or result.info.step_frames >= 1


@FUZZ
@given(st.fixed_dictionaries({}, optional={k: plausible.get(k, text) | text | st.none() for k in KEYS}))
def test_arbitrary_metadata_strings(values):
    path = _DIR / "model.onnx"
    build_loud_sound_model(path, metadata={f"wakegate.{k}": v for k, v in values.items()})
    load(path)


@FUZZ
@given(st.dictionaries(st.sampled_from(feature_fields) | text, json_values, max_size=4) | json_values)
def test_arbitrary_feature_config(changes):
    features = {**json.loads(FeatureConfig().to_json()), **changes} if isinstance(changes, dict) else changes
    path = _DIR / "model.onnx"
    build_loud_sound_model(path, metadata={"wakegate.features": json.dumps(features)})
    load(path)


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data):
    path = _DIR / "model.onnx"
    path.write_bytes(data)
    load(path)


@pytest.mark.parametrize("features", [
    {"hop": "160"},  # comparing str with int raised TypeError outside the try
    {"n_fft": None},
    {"fmin": [1]},
    {"n_mels": 10**9},  # a filterbank of n_fft × 10⁹ floats when the detector is built
    {"n_fft": 2**40, "win": 400},
])
def test_regression_feature_config_types(tmp_path, features):
    path = build_loud_sound_model(tmp_path / "m.onnx",
                                  metadata={"wakegate.features": json.dumps({**json.loads(FeatureConfig().to_json()), **features})})
    with pytest.raises(ModelError) as caught:
        StreamingModel(path)
    fuzzlib.assert_one_line(caught.value)


def test_regression_metadata_not_utf8(tmp_path):
    import fuzz_model

    fuzz_model.one_input(fuzzlib.read_input(Path(__file__).parent / "fuzz" / "regressions" / "model" / "invalid_utf8_metadata"))


def test_regression_huge_state_shape(tmp_path):
    import fuzz_model

    fuzz_model.one_input(fuzzlib.read_input(Path(__file__).parent / "fuzz" / "regressions" / "model" / "huge_state_shape"))
