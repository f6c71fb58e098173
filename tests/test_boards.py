"""Board profiles: the shipped ones load, bad ones fail in one line, and `run --board` uses them."""

import ctypes.util
import os
import re
import subprocess
import sys

import pytest

from firmware_py.boards import apply_board, list_boards, load_board, read_board
from firmware_py.config import load_settings
from firmware_py.errors import ConfigError

SHIPPED = ["pi-3bplus", "pi-4", "pi-5", "pi-zero-2w", "respeaker-2mic", "respeaker-4mic", "usb-mic"]


def test_every_shipped_profile_loads():
    boards = {b.name: b for b in list_boards()}
    assert sorted(boards) == SHIPPED
    usb = boards["usb-mic"]
    assert (usb.rate, usb.channels, usb.channel, usb.led.type, usb.mute_button_pin, usb.has_pins) == (48000, 2, 0, "none", None, False)
    hat = boards["respeaker-2mic"]
    assert (hat.led.type, hat.led.count, hat.mute_button_pin, hat.cpu) == ("apa102", 3, 17, "cortex-a53@1.0GHz")
    assert boards["respeaker-4mic"].led.power_pin == 5 and boards["respeaker-4mic"].mute_button_pin is None
    assert boards["pi-zero-2w"].led.pin == 17 and boards["pi-zero-2w"].mute_button_pin == 27
    assert load_board(boards["pi-4"].path) == boards["pi-4"]  # by path as well as by name


GOOD = """description = "test board"
cpu = "cortex-a53@1.0GHz"
mute_button_pin = 27
[audio]
device = "USB"
rate = 16000
channels = 2
channel = 1
[led]
type = "gpio"
pin = 17
"""


@pytest.mark.parametrize("change, message", [
    (("[led]", "[led]\ncolour = 3"), "unknown key led.colour"),
    (('description = "test board"', 'description = "test board"\nboard = 1'), "unknown key board"),
    (("rate = 16000", 'rate = "16k"'), "audio.rate must be int"),
    (("channel = 1", "channel = true"), "audio.channel must be int"),
    (("channel = 1", "channel = 2"), "audio.channel must be one of the 2 audio.channels"),
    (("rate = 16000", "rate = 1000"), "audio.rate must be 0 (auto) or between 8000 and 192000"),
    (("pin = 17", "pin = 40"), "led.pin = 40 is not a GPIO pin"),
    (("pin = 17", "pin = 27"), "two functions share a GPIO pin"),
    (("mute_button_pin = 27", 'mute_button_pin = "nope"'), 'mute_button_pin must be a pin number or "none"'),
    (('cpu = "cortex-a53@1.0GHz"', 'cpu = "fast"'), "cpu = 'fast' must look like"),
    (('type = "gpio"\npin = 17', 'type = "apa102"'), "led.count must be between 1 and 255"),
    (('type = "gpio"', 'type = "neopixel"'), "led.type must be one of gpio, apa102, none"),
    (("mute_button_pin = 27\n", ""), "missing key mute_button_pin"),
    (("[audio]", "audio = 3\n[x]"), "audio must be a table"),
    (("channels = 2", "channels = [2"), "not valid TOML"),
])
def test_a_bad_profile_is_one_line_naming_file_and_key(tmp_path, change, message):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError) as error:
        read_board(path)
    text = str(error.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_good_profile_parses(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    board = read_board(path)
    assert (board.name, board.device, board.channels, board.channel, board.led.pin) == ("good", "USB", 2, 1, 17)


def test_profile_beats_the_config_file_and_flags_beat_the_profile(tmp_path):
    config = tmp_path / "wakegate.toml"
    config.write_text('[audio]\ndevice = "from-file"\nrate = 22050\nblock_ms = 20\n')
    board, settings = apply_board("usb-mic", load_settings(config), {"device": None})
    assert (settings.audio.device, settings.audio.rate, settings.audio.channels, settings.audio.block_ms) == ("USB", 48000, 2, 20)
    _, settings = apply_board("usb-mic", load_settings(config), {"device": "from-flag"})
    assert settings.audio.device == "from-flag" and settings.audio.rate == 48000


def wakegate(args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "firmware_py", *args], env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True, timeout=timeout)


def test_boards_command_lists_every_profile():
    result = wakegate(["boards"])
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == SHIPPED
    assert "3 APA102 LEDs on SPI" in result.stdout


def test_unknown_board_is_a_clear_error(tmp_path, loud_model, data_dir):
    result = wakegate(["run", "--board", "pi-9", "--input", "x.wav", "--model", str(loud_model), "--data-dir", str(data_dir)])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.fullmatch(r"wakegate: error: no board profile named 'pi-9' \(known: .*\)\n", result.stderr)


# -- a profile-driven run on the ALSA fixture, standing in for each board's microphone --------------

STAND_INS = """
# Stand-ins for the boards' microphones, all fed from the 16 kHz mono fixture through ALSA's plug.
pcm.hat2 {{ type plug; slave {{ pcm "fixture"; rate 16000; channels 1; format S16_LE }} }}
pcm.hat4 {{ type plug; slave {{ pcm "fixture"; rate 16000; channels 1; format S16_LE }} }}
"""


needs_alsa = pytest.mark.skipif(
    ctypes.util.find_library("portaudio") is None or not os.path.exists("/usr/share/alsa/alsa.conf"),
    reason="needs PortAudio (libportaudio2) and ALSA's configuration (alsa-utils / libasound2)",
)


@needs_alsa
@pytest.mark.parametrize("name", SHIPPED)
def test_run_with_each_board_profile_on_a_stand_in_microphone(tmp_path, name, loud_model, data_dir):
    pytest.importorskip("gpiozero")
    from test_microphone import AUDIO, PacedMicrophone, alsa_config
    board = load_board(name)
    stand_in = {"usb-mic": "usbmic", "respeaker-2mic": "hat2", "respeaker-4mic": "hat4"}.get(name, "fixture")
    profile = tmp_path / f"{name}.toml"  # the shipped profile, with the stand-in's name for the mic
    profile.write_text(board.path.read_text().replace(f'device = "{board.device}"', f'device = "{stand_in}"', 1))
    mic = PacedMicrophone(tmp_path / "mic.fifo", AUDIO)
    try:
        config = alsa_config(tmp_path, mic.path)
        config.write_text(config.read_text() + STAND_INS.format())
        # gpiozero's mock pins stand in for the board's header in the subprocess.
        result = wakegate(["run", "--board", str(profile), "--model", str(loud_model), "--data-dir", str(data_dir), "--duration", "6"],
                          env={"ALSA_CONFIG_PATH": str(config), "PYTHONUNBUFFERED": "1", "GPIOZERO_PIN_FACTORY": "mock"})
    finally:
        mic.stop()
    assert result.returncode == 0, result.stderr
    rate = board.rate or 16000
    assert f"listening on {stand_in} ({rate} Hz, {board.channels} ch)" in result.stdout
    assert len(list((data_dir / "spool").glob("*.clip"))) == 1


@needs_alsa
def test_device_flag_beats_the_board(tmp_path, loud_model, data_dir):
    from test_microphone import AUDIO, PacedMicrophone, alsa_config
    mic = PacedMicrophone(tmp_path / "mic.fifo", AUDIO)
    try:
        result = wakegate(["run", "--board", "usb-mic", "--device", "usbmic", "--model", str(loud_model), "--data-dir", str(data_dir),
                           "--duration", "6"], env={"ALSA_CONFIG_PATH": str(alsa_config(tmp_path, mic.path)), "PYTHONUNBUFFERED": "1"})
    finally:
        mic.stop()
    assert result.returncode == 0, result.stderr
    assert "listening on usbmic (48000 Hz, 2 ch)" in result.stdout
    assert len(list((data_dir / "spool").glob("*.clip"))) == 1


def test_a_board_without_pins_needs_no_gpiozero():
    code = ("import sys; from firmware_py.boards import load_board; from firmware_py.gpio import open_board_io; "
            "assert open_board_io(load_board('usb-mic'), None, None) is None; assert 'gpiozero' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
