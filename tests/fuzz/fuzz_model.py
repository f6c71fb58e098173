"""Fuzz target: ``firmware_py.model.StreamingModel`` on ONNX files with arbitrary metadata values, and
on arbitrary bytes as a model file (ModelError only)."""

import json
import tempfile
from pathlib import Path

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.errors import ModelError
    from firmware_py.model import StreamingModel

from synthetic_model import build_loud_sound_model  # noqa: E402  (needs onnx: the dev extra)

_DIR = Path(tempfile.mkdtemp(prefix="wakegate-fuzz-model-"))
KEYS = ("format", "wake_word", "version", "sample_rate", "features", "step_frames", "threshold")
# Mostly the good model's bytes: random bytes alone almost never get past the protobuf parser.
_GOOD = build_loud_sound_model(_DIR / "good.onnx").read_bytes()


def metadata_from(data: bytes) -> dict[str, str | None]:
    """``{"wakegate.<key>": value}`` from fuzz bytes: NUL-separated values, one per key, \\x01 = key absent."""
    values = data.decode("utf-8", "replace").split("\x00")
    metadata = {}
    for key, value in zip(KEYS, values):
        metadata["wakegate." + key] = None if value == "\x01" else value
    if len(values) > len(KEYS) and values[len(KEYS)]:  # an extra JSON object merged into the feature config
        try:
            extra = json.loads(values[len(KEYS)])
        except (ValueError, RecursionError):
            extra = None
        if isinstance(extra, dict):
            metadata["wakegate.features"] = json.dumps({**json.loads(_default_features()), **extra})
    return metadata


def _default_features() -> str:
    from firmware_py.features import FeatureConfig

    return FeatureConfig().to_json()


def one_input(data: bytes) -> None:
    path = _DIR / "model.onnx"
    mode = data[0] % 3 if data else 0
    if mode == 0:  # arbitrary metadata strings
        try:
            build_loud_sound_model(path, metadata=metadata_from(data[1:]))
        except Exception:  # onnx itself refuses some strings (e.g. lone surrogates): not our parser
            return
    elif mode == 1:  # the good model with some bytes overwritten
        body = bytearray(_GOOD)
        for i in range(1, len(data) - 2, 3):
            body[int.from_bytes(data[i : i + 2], "little") % len(body)] = data[i + 2]
        path.write_bytes(bytes(body))
    else:  # arbitrary bytes
        path.write_bytes(data[1:])
    fuzzlib.expect_clean(StreamingModel, path, errors=ModelError)


if __name__ == "__main__":
    fuzzlib.main(one_input)
