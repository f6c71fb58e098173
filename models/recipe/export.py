"""Export a trained WakeWordTCN as a wakegate format-1 ONNX file (models/FORMAT.md), and check it."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
import onnxruntime
import torch

from .dataset import FEATURES
from .evaluate import STEP_FRAMES, stream_scores
from .model import StreamingNetworks, WakeWordTCN, ensemble_probabilities

MAX_FILE_BYTES = 250_000
FLOAT16_TOLERANCE = 2e-3  # an ensemble's weights are stored as float16: its scores may move this much


def _networks(model: WakeWordTCN | list[WakeWordTCN]) -> list[WakeWordTCN]:
    """The networks to export, in inference mode: a list of one for a single network."""
    return [m.eval() for m in (model if isinstance(model, list) else [model])]


def export_onnx(model: WakeWordTCN | list[WakeWordTCN], path: str, wake_word: str, version: str, threshold: float) -> None:
    """One network, or several as an ensemble (mean of their probabilities, weights stored as float16)."""
    members = _networks(model)
    streaming = StreamingNetworks(members)
    shapes = streaming.state_shapes()
    state_names = [f"state_{i}" for i in range(len(shapes))]
    example = (torch.zeros(1, STEP_FRAMES, members[0].conv_in.conv.in_channels),
               *[torch.zeros(s) for s in shapes])
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = os.path.join(tmp, "model.onnx")
        torch.onnx.export(
            streaming, example, raw_path, opset_version=17, dynamo=False,
            input_names=["features", *state_names],
            output_names=["scores", *[n + "_out" for n in state_names]],
            dynamic_axes={"features": {1: "T"}, "scores": {1: "T"}},
        )
        graph = onnx.load(raw_path)  # one self-contained file: weights are small, no external data
    if len(members) > 1:
        _store_weights_as_float16(graph)
    metadata = {
        "wakegate.format": "1",
        "wakegate.wake_word": wake_word,
        "wakegate.version": version,
        "wakegate.sample_rate": str(FEATURES.sample_rate),
        "wakegate.features": FEATURES.to_json(),
        "wakegate.step_frames": str(STEP_FRAMES),
        "wakegate.threshold": f"{threshold:.4f}",
    }
    # The tracer leaves the state outputs' time axis symbolic; FORMAT.md wants them shaped like the inputs.
    for output in graph.graph.output:
        if output.name.endswith("_out"):
            shape = shapes[state_names.index(output.name[: -len("_out")])]
            dims = output.type.tensor_type.shape.dim
            for dim, size in zip(dims, shape):
                dim.ClearField("dim_param")
                dim.dim_value = size
    del graph.metadata_props[:]
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    ensemble = f", ensemble of {len(members)} networks" if len(members) > 1 else ""
    graph.doc_string = f"wakegate wake-word model '{wake_word}' {version} (models/recipe{ensemble})"
    onnx.checker.check_model(graph)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    onnx.save(graph, path)


def _store_weights_as_float16(graph: onnx.ModelProto) -> None:
    """Float weights kept as float16, each cast back to float32 where the graph starts.

    Halves the file, so an ensemble fits the size budget; onnxruntime folds the casts when it loads the
    model, so inference still runs in float32 at the same cost.
    """
    casts, kept = [], []
    for init in graph.graph.initializer:
        array = onnx.numpy_helper.to_array(init)
        if array.dtype != np.float32 or array.size < 16:  # shapes, indices and scalars stay as they are
            kept.append(init)
            continue
        kept.append(onnx.numpy_helper.from_array(array.astype(np.float16), init.name + "_float16"))
        casts.append(onnx.helper.make_node("Cast", [init.name + "_float16"], [init.name], to=onnx.TensorProto.FLOAT,
                                           name=init.name + "_cast"))
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept)
    nodes = list(graph.graph.node)
    del graph.graph.node[:]
    graph.graph.node.extend(casts + nodes)


def open_session(path: str) -> onnxruntime.InferenceSession:
    """One CPU thread, as on the device."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def verify(model: WakeWordTCN | list[WakeWordTCN], path: str, features: np.ndarray) -> dict:
    """Streaming ONNX (calls of STEP_FRAMES, 1 and 7 frames) must match torch on the whole sequence; size; 1-thread CPU run.

    An ensemble's float16 weights move its scores a little from torch's (FLOAT16_TOLERANCE); the
    streamed calls must still agree with each other as closely as a float32 model's do with torch.
    """
    members = _networks(model)
    reference = ensemble_probabilities(members, features)
    session = open_session(path)
    max_diff, n, by_step = 0.0, 0, []
    for step in (STEP_FRAMES, 1, 7):  # the device's step, and any other T must agree too
        streamed = stream_scores(session, features, step)
        n = max(n, len(streamed))
        max_diff = max(max_diff, float(np.max(np.abs(streamed - reference[: len(streamed)]))))
        by_step.append(streamed)
    size = os.path.getsize(path)
    shortest = min(len(s) for s in by_step)
    step_diff = max(float(np.max(np.abs(s[:shortest] - by_step[0][:shortest]))) for s in by_step)
    if step_diff > 1e-4:
        raise AssertionError(f"streaming ONNX differs between call sizes by {step_diff:.2e}")
    if max_diff > (1e-4 if len(members) == 1 else FLOAT16_TOLERANCE):
        raise AssertionError(f"streaming ONNX differs from torch by {max_diff:.2e}")
    if size > MAX_FILE_BYTES:
        raise AssertionError(f"{path} is {size} bytes, over the {MAX_FILE_BYTES} byte budget")
    return {"max_abs_diff": max_diff, "frames_checked": n, "bytes": size}
