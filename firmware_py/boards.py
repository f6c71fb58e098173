"""Board profiles: which microphone, LED and button a board has, from ``hw/boards/<name>.toml``.

A profile is data, not code, so a new board is a new file. It is checked as strictly as the
settings file: an unknown key, a wrong type or an impossible value is a one-line ``ConfigError``
that names the file and the key, never a surprise on the device later.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import read_toml
from .errors import ConfigError

_REPO_BOARDS = Path(__file__).resolve().parent.parent / "hw" / "boards"
GPIO_PINS = range(0, 28)  # BCM numbers of the 40-pin header
CPU_CLASS = re.compile(r"^(any|[a-z][a-z0-9-]*@\d+(\.\d+)?GHz)$")
LED_TYPES = ("gpio", "apa102", "none")


def board_search_dirs() -> list[Path]:
    return [_REPO_BOARDS, Path(sys.prefix) / "share" / "wakegate" / "boards"]  # a checkout, then a wheel install


@dataclass(frozen=True)
class LedSpec:
    type: str = "none"  # "gpio": one LED on a pin; "apa102": a chain of RGB LEDs on SPI 0; "none"
    pin: int | None = None  # gpio: the LED's BCM pin
    count: int = 0  # apa102: LEDs in the chain
    power_pin: int | None = None  # apa102: a pin that must be high to power the LEDs (ReSpeaker 4-mic)


@dataclass(frozen=True)
class BoardProfile:
    name: str
    path: Path
    description: str
    cpu: str  # e.g. "cortex-a53@1.0GHz", for sizing; "any" for a generic part
    device: str  # capture device: (part of) its name
    rate: int  # 0 = 16 kHz if the device can, else its default
    channels: int
    channel: int
    led: LedSpec
    mute_button_pin: int | None

    @property
    def has_pins(self) -> bool:
        return self.led.type != "none" or self.mute_button_pin is not None

    def audio_overrides(self) -> dict[str, Any]:
        return {"device": self.device, "rate": self.rate, "channels": self.channels, "channel": self.channel}


_SCHEMA: dict[str, dict[str, type | tuple]] = {
    "": {"description": str, "cpu": str, "audio": dict, "led": dict, "mute_button_pin": (int, str)},
    "audio": {"device": str, "rate": int, "channels": int, "channel": int},
    "led": {"type": str, "pin": int, "count": int, "power_pin": int},
}
_REQUIRED = {"": ("description", "cpu", "audio", "led", "mute_button_pin"), "audio": ("device", "rate", "channels", "channel"), "led": ("type",)}


def _check_table(path: Path, section: str, table: dict) -> None:
    schema = _SCHEMA[section]
    prefix = f"{section}." if section else ""
    for key, value in table.items():
        if key not in schema:
            raise ConfigError(f"{path}: unknown key {prefix}{key} (known: {', '.join(schema)})")
        expected = schema[key]
        if isinstance(value, bool) or not isinstance(value, expected):
            names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise ConfigError(f"{path}: {prefix}{key} must be {'a table' if expected is dict else names}, not {value!r}")
    for key in _REQUIRED[section]:
        if key not in table:
            raise ConfigError(f"{path}: missing key {prefix}{key}")


def _pin(path: Path, key: str, value: int) -> int:
    if value not in GPIO_PINS:
        raise ConfigError(f"{path}: {key} = {value} is not a GPIO pin (BCM 0-27)")
    return value


def parse_board(path: Path, raw: dict) -> BoardProfile:
    _check_table(path, "", raw)
    audio, led = raw["audio"], raw["led"]
    _check_table(path, "audio", audio)
    _check_table(path, "led", led)
    if not raw["description"].strip():
        raise ConfigError(f"{path}: description must not be empty")
    if not CPU_CLASS.match(raw["cpu"]):
        raise ConfigError(f"{path}: cpu = {raw['cpu']!r} must look like \"cortex-a53@1.0GHz\" (or \"any\")")
    if audio["rate"] and not 8000 <= audio["rate"] <= 192000:
        raise ConfigError(f"{path}: audio.rate must be 0 (auto) or between 8000 and 192000")
    if not 1 <= audio["channels"] <= 32:
        raise ConfigError(f"{path}: audio.channels must be between 1 and 32")
    if not 0 <= audio["channel"] < audio["channels"]:
        raise ConfigError(f"{path}: audio.channel must be one of the {audio['channels']} audio.channels (0-{audio['channels'] - 1})")
    led_spec = _parse_led(path, led)
    button = raw["mute_button_pin"]
    if isinstance(button, str) and button != "none":
        raise ConfigError(f"{path}: mute_button_pin must be a pin number or \"none\", not {button!r}")
    button_pin = None if button == "none" else _pin(path, "mute_button_pin", button)
    used = [p for p in (led_spec.pin, led_spec.power_pin, button_pin) if p is not None]
    if led_spec.type == "apa102":
        used += [10, 11]  # SPI 0 MOSI and SCLK
    if len(set(used)) != len(used):
        raise ConfigError(f"{path}: two functions share a GPIO pin ({', '.join(map(str, used))})")
    return BoardProfile(path.stem, path, raw["description"].strip(), raw["cpu"], audio["device"], audio["rate"],
                        audio["channels"], audio["channel"], led_spec, button_pin)


def _parse_led(path: Path, led: dict) -> LedSpec:
    kind = led["type"]
    if kind not in LED_TYPES:
        raise ConfigError(f"{path}: led.type must be one of {', '.join(LED_TYPES)}, not {kind!r}")
    allowed = {"gpio": {"type", "pin"}, "apa102": {"type", "count", "power_pin"}, "none": {"type"}}[kind]
    extra = sorted(set(led) - allowed)
    if extra:
        raise ConfigError(f"{path}: led.{extra[0]} does not apply to led.type = \"{kind}\"")
    if kind == "gpio":
        if "pin" not in led:
            raise ConfigError(f"{path}: missing key led.pin (led.type = \"gpio\")")
        return LedSpec("gpio", pin=_pin(path, "led.pin", led["pin"]))
    if kind == "apa102":
        if not 1 <= led.get("count", 0) <= 255:
            raise ConfigError(f"{path}: led.count must be between 1 and 255 for led.type = \"apa102\"")
        power = _pin(path, "led.power_pin", led["power_pin"]) if "power_pin" in led else None
        return LedSpec("apa102", count=led["count"], power_pin=power)
    return LedSpec()


def read_board(path: str | Path) -> BoardProfile:
    path = Path(path)
    return parse_board(path, read_toml(path, "board profile"))


def _profile_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in board_search_dirs():
        for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
            found.setdefault(path.stem, path)  # the checkout wins over an installed copy
    return found


def load_board(name_or_path: str | Path) -> BoardProfile:
    """A profile by name (``pi-4``) from the board directories, or a ``.toml`` file by path."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text:
        return read_board(text)
    files = _profile_files()
    if text not in files:
        raise ConfigError(f"no board profile named {text!r} (known: {', '.join(sorted(files)) or 'none'}; see 'wakegate boards')")
    return read_board(files[text])


def list_boards() -> list[BoardProfile]:
    return [read_board(path) for _, path in sorted(_profile_files().items())]


def apply_board(board: str, settings, cli_audio: dict[str, Any]):
    """(profile, settings with the profile's audio): the profile beats the config file, flags beat both."""
    profile = load_board(board)
    audio = {**profile.audio_overrides(), **{k: v for k, v in cli_audio.items() if v is not None}}
    return profile, dataclasses.replace(settings, audio=dataclasses.replace(settings.audio, **audio))


def describe(profile: BoardProfile) -> str:
    led = {"gpio": f"LED on GPIO{profile.led.pin}", "apa102": f"{profile.led.count} APA102 LEDs on SPI",
           "none": "no LED"}[profile.led.type]
    button = f"mute button on GPIO{profile.mute_button_pin}" if profile.mute_button_pin is not None else "no button"
    rate = f"{profile.rate} Hz" if profile.rate else "auto rate"
    return (f"{profile.name:16s} {profile.description}: mic {profile.device!r} ({rate}, {profile.channels} ch, "
            f"channel {profile.channel}), {led}, {button}, {profile.cpu}")
