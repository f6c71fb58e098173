"""Loading and streaming one self-describing ONNX wake-word model (see models/FORMAT.md)."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError
from .features import FeatureConfig

_META = "wakegate."
_REQUIRED_KEYS = ("format", "wake_word", "version", "sample_rate", "features", "step_frames", "threshold")
_SUPPORTED_FORMAT = "1"
_MAX_STATE_VALUES = 1 << 20

# Where named models (``--model alexa``) are looked up, after an explicit path.
_REPO_MODELS = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = "alexa"


@dataclass(frozen=True)
class ModelInfo:
    """What the runtime knows about a model, all read from the file's metadata."""

    path: Path
    wake_word: str
    version: str
    sample_rate: int
    features: FeatureConfig
    step_frames: int
    threshold: float


def model_search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("WAKEGATE_MODEL_DIR"):
        dirs.append(Path(os.environ["WAKEGATE_MODEL_DIR"]))
    dirs.append(_REPO_MODELS)  # a source checkout or editable install
    dirs.append(Path(sys.prefix) / "share" / "wakegate" / "models")  # a wheel install
    return dirs


def resolve_model(name_or_path: str) -> Path:
    """A model given as a file path, or as a name looked up in the model directories."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".onnx" or os.sep in name_or_path:
        if not candidate.is_file():
            raise ModelError(f"model file not found: {name_or_path}")
        return candidate
    for directory in model_search_dirs():
        path = directory / f"{name_or_path}.onnx"
        if path.is_file():
            return path
    known = sorted({p.stem for d in model_search_dirs() if d.is_dir() for p in d.glob("*.onnx")})
    raise ModelError(f"no model named {name_or_path!r} (known: {', '.join(known) or 'none'})")


def _session_options(threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # onnxruntime's warnings are not the user's problem
    return options


class StreamingModel:
    """One ONNX model with its streaming state. ``step(features)`` returns one score per frame."""

    def __init__(self, path: str | Path, threads: int = 1):
        import onnxruntime as ort

        self.path = Path(path)
        try:
            self._session = ort.InferenceSession(
                str(self.path), sess_options=_session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for every bad file
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{self.path}: not a loadable ONNX model ({first_line[:200]})") from None
        self.info = self._read_info()
        self._check_signature()
        self._state_names = [i.name for i in self._session.get_inputs() if i.name.startswith("state_")]
        self._output_names = ["scores"] + [f"{name}_out" for name in self._state_names]
        self._initial_state = {
            i.name: np.zeros(i.shape, dtype=np.float32)
            for i in self._session.get_inputs()
            if i.name in self._state_names
        }
        self.reset()

    def _read_info(self) -> ModelInfo:
        try:
            props = self._session.get_modelmeta().custom_metadata_map
        except (UnicodeDecodeError, RuntimeError) as exc:
            raise ModelError(f"{self.path}: model metadata is not readable ({type(exc).__name__})") from None
        missing = [k for k in _REQUIRED_KEYS if _META + k not in props]
        if missing:
            raise ModelError(f"{self.path}: not a wakegate model (metadata lacks {', '.join(_META + k for k in missing)})")
        if props[_META + "format"] != _SUPPORTED_FORMAT:
            raise ModelError(f"{self.path}: model format {props[_META + 'format']!r} is not supported (need 1)")
        features = FeatureConfig.from_json(props[_META + "features"])
        try:
            info = ModelInfo(
                path=self.path,
                wake_word=props[_META + "wake_word"].strip(),
                version=props[_META + "version"].strip(),
                sample_rate=int(props[_META + "sample_rate"]),
                features=features,
                step_frames=int(props[_META + "step_frames"]),
                threshold=float(props[_META + "threshold"]),
            )
        except ValueError as exc:
            raise ModelError(f"{self.path}: bad metadata value ({exc})") from None
        if not info.wake_word or info.step_frames < 1 or not 0.0 < info.threshold < 1.0:
            raise ModelError(f"{self.path}: metadata out of range (wake word, step_frames ≥ 1, 0 < threshold < 1)")
        if info.sample_rate != features.sample_rate:
            raise ModelError(f"{self.path}: sample_rate {info.sample_rate} disagrees with its feature config")
        return info

    def _check_signature(self) -> None:
        inputs = {i.name: i for i in self._session.get_inputs()}
        outputs = {o.name for o in self._session.get_outputs()}
        features = inputs.get("features")
        if features is None or len(features.shape) != 3 or features.shape[2] != self.info.features.n_mels:
            raise ModelError(f"{self.path}: needs input 'features' of shape [1, T, {self.info.features.n_mels}]")
        if "scores" not in outputs:
            raise ModelError(f"{self.path}: needs output 'scores'")
        for name, node in inputs.items():
            if name == "features":
                continue
            if not name.startswith("state_") or f"{name}_out" not in outputs:
                raise ModelError(f"{self.path}: input {name!r} is neither 'features' nor a state_* with a matching output")
            if not all(isinstance(d, int) and d > 0 for d in node.shape):
                raise ModelError(f"{self.path}: state input {name!r} needs a fixed shape, has {node.shape}")
            if math.prod(node.shape) > _MAX_STATE_VALUES:  # a tiny file must not make us allocate gigabytes
                raise ModelError(f"{self.path}: state input {name!r} is too large ({node.shape})")

    def reset(self) -> None:
        self._state = {name: value.copy() for name, value in self._initial_state.items()}

    def step(self, features: np.ndarray) -> np.ndarray:
        """Run the model on (T, n_mels) features; returns T scores and keeps the state."""
        feeds = {"features": features[np.newaxis].astype(np.float32, copy=False)}
        feeds.update(self._state)
        outputs = self._session.run(self._output_names, feeds)
        for name, value in zip(self._state_names, outputs[1:]):
            self._state[name] = value
        return outputs[0].reshape(-1)


def load_model(name_or_path: str, threads: int = 1, allow_unsigned: bool = False,
               trusted_keys: tuple[str, ...] = ()) -> StreamingModel:
    """A model by name or path, loaded only once its signature checks out (see signing.py)."""
    from .signing import check_model

    path = resolve_model(name_or_path)
    check_model(path, allow_unsigned, trusted_keys)
    return StreamingModel(path, threads=threads)
