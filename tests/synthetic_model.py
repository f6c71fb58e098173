"""A tiny, exactly predictable wakegate model for tests: it "hears" loud sound, not words.

score[t] = sigmoid(gain * (min(m[t-2], m[t-1], m[t]) - level)), where m is the mean log-mel of a
frame: it fires when three consecutive frames are loud. Its two frames of history live in a
``state_`` tensor, so it exercises the streaming contract of models/FORMAT.md for real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from firmware_py.features import FeatureConfig

# Mean log-mel of a frame: -23 for digital silence, -5 for white noise at -50 dBFS, -3 at -40 dBFS,
# +1.7 at -20 dBFS. A pure tone stays low (its energy sits in one band), so "loud" means broadband.
LOUD_LEVEL = 0.0


def build_loud_sound_model(
    path: Path,
    wake_word: str = "loud",
    threshold: float = 0.5,
    version: str = "test-1",
    step_frames: int = 4,
    metadata: dict[str, str] | None = None,
) -> Path:
    n_mels = FeatureConfig().n_mels
    const = lambda name, values, dtype=TensorProto.INT64: helper.make_tensor(name, dtype, [len(values)], values)  # noqa: E731
    nodes = [
        helper.make_node("Concat", ["state_history", "features"], ["frames"], axis=1),
        helper.make_node("Slice", ["frames", "minus2", "big", "axis1"], ["state_history_out"]),
        helper.make_node("ReduceMean", ["frames", "axis2"], ["level"], keepdims=0),  # [1, T+2]
        helper.make_node("Slice", ["level", "two", "big", "axis1"], ["now"]),
        helper.make_node("Slice", ["level", "one", "minus1", "axis1"], ["prev"]),
        helper.make_node("Slice", ["level", "zero", "minus2", "axis1"], ["prev2"]),
        helper.make_node("Min", ["now", "prev", "prev2"], ["quietest"]),
        helper.make_node("Sub", ["quietest", "level_const"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["scores"]),
    ]
    initialisers = [
        const("minus2", [-2]), const("minus1", [-1]), const("zero", [0]), const("one", [1]), const("two", [2]),
        const("big", [2**31 - 1]), const("axis1", [1]), const("axis2", [2]),
        helper.make_tensor("level_const", TensorProto.FLOAT, [], [LOUD_LEVEL]),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [2.0]),
    ]
    graph = helper.make_graph(
        nodes,
        "loud_sound",
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, "T", n_mels]),
            helper.make_tensor_value_info("state_history", TensorProto.FLOAT, [1, 2, n_mels]),
        ],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, "T"]),
            helper.make_tensor_value_info("state_history_out", TensorProto.FLOAT, [1, 2, n_mels]),
        ],
        initialisers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    props = {
        "wakegate.format": "1",
        "wakegate.wake_word": wake_word,
        "wakegate.version": version,
        "wakegate.sample_rate": "16000",
        "wakegate.features": FeatureConfig().to_json(),
        "wakegate.step_frames": str(step_frames),
        "wakegate.threshold": str(threshold),
    }
    props.update(metadata or {})
    for key, value in props.items():
        if value is not None:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def noise(seconds: float, dbfs: float = -50.0, seed: int = 0, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = 32768 * 10 ** (dbfs / 20)
    return np.clip(rng.normal(0, scale, int(seconds * rate)), -32768, 32767).astype(np.int16)


def burst(seconds: float = 0.3, seed: int = 1) -> np.ndarray:
    """What the loud-sound model takes for its wake word: broadband noise at -20 dBFS."""
    return noise(seconds, dbfs=-20.0, seed=seed)
