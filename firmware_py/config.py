"""Settings: frozen dataclasses, filled from defaults, then a TOML file, then command-line flags.

Every setting has a default that works, so ``wakegate run`` needs no file. Unknown keys and wrong
types are errors that name the key, not silently ignored.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .delivery import SinkSettings
from .detector import DetectorSettings
from .errors import ConfigError
from .gate import GateSettings


def default_data_dir() -> Path:
    if os.environ.get("WAKEGATE_DATA_DIR"):
        return Path(os.environ["WAKEGATE_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "wakegate"


@dataclass(frozen=True)
class AudioSettings:
    device: str = ""  # input device name (or part of it) or index; "" = system default
    rate: int = 0  # capture rate; 0 = 16 kHz if the device can, else its default rate
    channels: int = 1  # channels to open the device with
    channel: int = 0  # which of them carries the voice
    block_ms: int = 80  # audio handled per step of the loop; the model runs once per block (CPU vs latency)
    stall_timeout_s: float = 3.0  # no frames for this long = the device is gone

    def __post_init__(self):
        if self.block_ms not in (10, 20, 40, 80):
            raise ConfigError("audio.block_ms must be 10, 20, 40 or 80")
        if self.channels < 1 or not 0 <= self.channel < self.channels:
            raise ConfigError("audio.channel must be one of the audio.channels opened")
        if self.rate and not 8000 <= self.rate <= 192000:
            raise ConfigError("audio.rate must be 0 (auto) or between 8000 and 192000")
        if self.stall_timeout_s <= 0:
            raise ConfigError("audio.stall_timeout_s must be positive")

    @property
    def block_samples(self) -> int:
        return 16 * self.block_ms


@dataclass(frozen=True)
class ModelSettings:
    models: tuple[str, ...] = ("alexa",)  # names in the model directories, or paths to .onnx files
    threads: int = 1  # onnxruntime intra-op threads per model
    allow_unsigned: bool = False  # load models that have no signature (your own local models)
    trusted_keys: tuple[str, ...] = ()  # Ed25519 public keys (PEM) trusted to sign models, besides the shipped ones

    def __post_init__(self):
        if not self.models:
            raise ConfigError("models.models must name at least one model")
        if self.threads < 1:
            raise ConfigError("models.threads must be at least 1")


def default_private_key() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "wakegate" / "owner.key"


@dataclass(frozen=True)
class SpoolSettings:
    dir: str = ""  # "" = $WAKEGATE_DATA_DIR or ~/.local/share/wakegate
    public_key: str = ""  # the owner's key clips are sealed to; "" = <dir>/owner.pub
    max_clips: int = 200  # when full, the oldest clip is dropped (and the audit log says so)
    max_mb: float = 100.0
    keep_days: float = 0.0  # 0: a forwarded clip is deleted once every sink has it; N: kept N days
    device_label: str = ""  # opt-in: a name of your choosing added to every clip's metadata; "" = none

    def __post_init__(self):
        if self.max_clips < 1 or self.max_mb <= 0:
            raise ConfigError("spool.max_clips and spool.max_mb must be positive")
        if self.keep_days < 0:
            raise ConfigError("spool.keep_days must not be negative")

    @property
    def data_dir(self) -> Path:
        return Path(self.dir).expanduser() if self.dir else default_data_dir()

    @property
    def public_key_path(self) -> Path:
        from .spool import PUBLIC_KEY_NAME

        return Path(self.public_key).expanduser() if self.public_key else self.data_dir / PUBLIC_KEY_NAME


@dataclass(frozen=True)
class Settings:
    audio: AudioSettings = field(default_factory=AudioSettings)
    models: ModelSettings = field(default_factory=ModelSettings)
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    gate: GateSettings = field(default_factory=GateSettings)
    spool: SpoolSettings = field(default_factory=SpoolSettings)
    sinks: tuple[SinkSettings, ...] = ()  # [[sinks]] tables: where clips are forwarded


_SECTION_TYPES = {
    "audio": AudioSettings,
    "models": ModelSettings,
    "detector": DetectorSettings,
    "gate": GateSettings,
    "spool": SpoolSettings,
}


def _coerce(section: str, key: str, value: Any, default: Any) -> Any:
    where = f"{section}.{key}"
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float) or (default is None and key == "threshold"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, (str, int)) and not isinstance(value, bool)
        value = str(value) if ok else value
    elif isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    elif isinstance(default, dict):
        ok = isinstance(value, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value.values()
        )
        value = {k: float(v) for k, v in value.items()} if ok else value
    else:
        ok = True
    if not ok:
        expected = type(default).__name__ if default is not None else "number"
        raise ConfigError(f"{where}: expected {expected}, got {_short_repr(value)}")
    return value


def _short_repr(value: Any, limit: int = 80) -> str:
    """repr() escapes line breaks, so a message stays one line; long values are cut."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _key(name: str) -> str:
    """A key as written in a message: bare if it is a plain TOML key, else quoted (one line, always)."""
    return name if name and all(c.isascii() and (c.isalnum() or c in "-_") for c in name) else _short_repr(name)


def _build(section: str, cls, values: dict[str, Any]):
    defaults = {f.name: _default(f) for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown setting {section}.{_key(unknown[0])} (known: {', '.join(sorted(defaults))})")
    coerced = {k: _coerce(section, k, v, defaults[k]) for k, v in values.items()}
    return cls(**coerced)


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file as a dict; every way it can fail is a one-line ConfigError naming ``what``."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ConfigError(f"{path}: not valid TOML (arrays or tables nested too deeply)") from None


def load_settings(path: str | Path | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> Settings:
    """Defaults ← TOML file ← overrides ({"section": {"key": value}}, e.g. from flags)."""
    raw: dict[str, Any] = read_toml(Path(path), "config file") if path is not None else {}
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {})
        if isinstance(raw[section], dict):
            raw[section].update(values)
    sinks = raw.pop("sinks", [])
    unknown = sorted(set(raw) - set(_SECTION_TYPES))
    if unknown:
        raise ConfigError(f"unknown config section [{_key(unknown[0])}] (known: {', '.join(_SECTION_TYPES)}, [[sinks]])")
    if not isinstance(sinks, list) or not all(isinstance(t, dict) for t in sinks):
        raise ConfigError("sinks must be [[sinks]] tables")
    built_sinks = tuple(_build(f"sinks[{i}]", SinkSettings, table) for i, table in enumerate(sinks))
    names = [sink.name for sink in built_sinks]
    if len(set(names)) != len(names):
        raise ConfigError("two sinks have the same name")
    built = {}
    for section, cls in _SECTION_TYPES.items():
        values = raw.get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table of settings")
        built[section] = _build(section, cls, values)
    return Settings(**built, sinks=built_sinks)
