"""The board's pins with gpiozero's real mock pins: privacy LED, mute button, error pattern, APA102."""

import threading
import time

import numpy as np
import pytest

gpiozero = pytest.importorskip("gpiozero")
from gpiozero.pins.mock import MockFactory, MockSPIDevice  # noqa: E402

from firmware_py.audio_in import paced  # noqa: E402
from firmware_py.boards import load_board  # noqa: E402
from firmware_py.gpio import BoardIO, PRIVACY_RGB, apa102_frame  # noqa: E402
from firmware_py.runtime import FileSource  # noqa: E402
from synthetic_model import burst, noise  # noqa: E402
from test_control import BLOCK, blocks_of, build  # noqa: E402


@pytest.fixture
def pins():
    previous = gpiozero.Device.pin_factory
    gpiozero.Device.pin_factory = factory = MockFactory()
    yield factory
    factory.reset()
    gpiozero.Device.pin_factory = previous


def test_privacy_led_is_on_for_every_forwarded_clip(loud_model, pins):
    led = pins.pin(17)
    seen = []
    runtime, worker = build(loud_model, lambda clip: seen.append(led.state))
    board = BoardIO(load_board("pi-zero-2w"), runtime.controller, runtime.indicator)
    audio = np.concatenate([noise(2.0, -60), burst(0.3), noise(1.0, -30), noise(3.0, -65)] * 3)
    states = []
    runtime.run(FileSource(b for b in blocks_of(audio) if states.append(led.state) or True))
    worker.close()
    board.close()
    assert seen == [True, True, True]  # the LED was on while each clip left
    assert any(states) and not all(states)  # and off while merely listening
    assert led.state is False


def test_mute_button_mutes_within_one_block(loud_model, pins):
    runtime, worker = build(loud_model, lambda clip: None)
    board = BoardIO(load_board("pi-zero-2w"), runtime.controller, runtime.indicator)
    button = pins.pin(27)
    audio = noise(3.0, -60)
    pressed, muted_at = [], []

    def press():
        pressed.append((time.monotonic(), runtime.pipeline.stats.samples))
        button.drive_low()
        button.drive_high()

    mute = runtime._mute

    def observe_mute():
        muted_at.append((time.monotonic(), runtime.pipeline.stats.samples))
        mute()

    runtime._mute = observe_mute
    threading.Timer(1.0, press).start()
    threading.Timer(1.5, lambda: (button.drive_low(), button.drive_high())).start()  # a second press unmutes
    runtime.run(FileSource(paced(iter(blocks_of(audio)))))  # paced: one 40 ms block at a time, like a mic
    worker.close()
    board.close()
    assert runtime.mutes == 1 and not runtime.controller.muted
    (press_time, fed_before), ((mute_time, fed_at_mute),) = pressed[0], muted_at
    assert fed_at_mute - fed_before <= BLOCK  # at most the block already in the pipeline went through
    assert mute_time - press_time < 0.04 + 0.2  # one block, plus slack for a busy machine
    assert runtime.pipeline.stats.samples == len(audio) - BLOCK  # the block that met the mute was dropped


def test_an_error_blinks_the_led_before_exit(pins):
    from firmware_py.indicator import Indicator
    from firmware_py.runtime import Controller

    board = BoardIO(load_board("pi-4"), Controller(), Indicator())
    led = pins.pin(17)
    started = time.monotonic()
    board.close(failed=True, error_blink_s=0.4)
    assert time.monotonic() - started >= 0.35
    flips = [s.state for s in led.states]
    assert flips.count(True) >= 2 and flips[-1] is False


class Apa102Recorder(MockSPIDevice):
    """The LED chain's side of SPI 0: every transfer's bytes, as the chain would receive them."""

    def __init__(self):
        self.transfers = []
        super().__init__(11, 10, None, 8)

    def on_start(self):
        super().on_start()
        self.transfers.append(self.rx_buf)  # the list fills bit by bit during the transfer

    def received(self, index=-1):
        bits = self.transfers[index]
        return [int("".join(map(str, map(int, bits[i : i + 8]))), 2) for i in range(0, len(bits), 8)]


def test_apa102_leds_follow_the_indicator_on_mock_spi(pins):
    from firmware_py.indicator import Indicator
    from firmware_py.runtime import Controller

    chain = Apa102Recorder()
    indicator, controller = Indicator(), Controller()
    board = BoardIO(load_board("respeaker-2mic"), controller, indicator)
    assert chain.received() == apa102_frame([(0, 0, 0)] * 3)
    with indicator.held("test"):
        assert chain.received() == apa102_frame([PRIVACY_RGB] * 3)
        assert chain.received()[4:8] == [0xE8, 255, 0, 0]  # brightness 8, then blue, green, red
    assert chain.received() == apa102_frame([(0, 0, 0)] * 3)
    pins.pin(17).drive_low()  # the HAT's button
    assert controller.muted
    board.close(failed=True, error_blink_s=0.2)
    assert apa102_frame([(255, 0, 0)] * 3) in [chain.received(i) for i in range(len(chain.transfers))]
    assert chain.received() == apa102_frame([(0, 0, 0)] * 3)  # dark once closed
    chain.close()


def test_apa102_power_pin_is_driven_high(pins):
    from firmware_py.indicator import Indicator
    from firmware_py.runtime import Controller

    board = BoardIO(load_board("respeaker-4mic"), Controller(), Indicator())
    assert pins.pin(5).state is True
    board.close()


def test_a_board_with_pins_off_the_board_is_a_one_line_error(tmp_path, loud_model, data_dir):
    import os
    import subprocess
    import sys
    from pathlib import Path

    model = Path("/proc/device-tree/model")
    if model.exists() and "Raspberry Pi" in model.read_text(errors="replace"):
        pytest.skip("on a real Pi the pins exist")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPIOZERO_")}
    result = subprocess.run([sys.executable, "-m", "firmware_py", "run", "--board", "pi-4", "--input", "x.wav", "--model", str(loud_model),
                             "--data-dir", str(data_dir)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("wakegate: error: board pi-4: cannot use its pins (") and len(result.stderr.splitlines()) == 1
