import numpy as np
import pytest

from firmware_py.errors import ModelError
from firmware_py.features import LogMel
from firmware_py.model import StreamingModel, resolve_model
from synthetic_model import build_loud_sound_model, burst, noise


def test_metadata_describes_the_model(loud_model):
    info = StreamingModel(loud_model).info
    assert (info.wake_word, info.version, info.step_frames, info.threshold) == ("loud", "test-1", 4, 0.5)
    assert info.features.n_mels == 40


def test_state_carries_across_calls(loud_model):
    audio = np.concatenate([noise(0.5), burst(0.2), noise(0.5)])
    features = LogMel().batch(audio)
    model = StreamingModel(loud_model)
    whole = model.step(features)
    model.reset()
    pieces = np.concatenate([model.step(features[i : i + 3]) for i in range(0, len(features), 3)])
    np.testing.assert_allclose(pieces, whole, atol=1e-6)
    assert whole.max() > 0.9 and whole[:40].max() < 0.1


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a loadable ONNX model"),
        (b"this is text, not protobuf", "not a loadable ONNX model"),
        (bytes(range(256)) * 10, "not a loadable ONNX model"),
    ],
)
def test_a_file_that_is_not_a_model_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        StreamingModel(path)


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"wakegate.wake_word": None}, "lacks wakegate.wake_word"),
        ({"wakegate.format": "7"}, "format '7' is not supported"),
        ({"wakegate.threshold": "high"}, "bad metadata value"),
        ({"wakegate.threshold": "1.5"}, "out of range"),
        ({"wakegate.features": '{"type": "mfcc"}'}, "unsupported feature type"),
        ({"wakegate.sample_rate": "8000"}, "disagrees"),
    ],
)
def test_bad_metadata_is_refused_with_its_name(tmp_path, metadata, message):
    path = build_loud_sound_model(tmp_path / "m.onnx", metadata=metadata)
    with pytest.raises(ModelError, match=message):
        StreamingModel(path)


def test_models_resolve_by_path_or_name(loud_model, monkeypatch, tmp_path):
    assert resolve_model(str(loud_model)) == loud_model
    monkeypatch.setenv("WAKEGATE_MODEL_DIR", str(loud_model.parent))
    assert resolve_model("loud") == loud_model
    with pytest.raises(ModelError, match="no model named 'nope'"):
        resolve_model("nope")
    with pytest.raises(ModelError, match="not found"):
        resolve_model(str(tmp_path / "missing.onnx"))
