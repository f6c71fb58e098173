"""A board's pins: the privacy LED, the mute button and the error pattern, through gpiozero.

gpiozero is imported only here and only for a board that has pins, so the gate runs anywhere
without it. The LED is an ``Indicator`` output, so it is on exactly when the indicator is: while a
clip is captured or any copy of it is leaving. The button only asks the ``Controller`` to mute; the
audio loop obeys between blocks, like every other mute.
"""

from __future__ import annotations

import logging
import time
import warnings

from .boards import BoardProfile
from .errors import WakegateError

log = logging.getLogger("wakegate")

PRIVACY_RGB = (0, 0, 255)  # blue while audio is captured or sent (the colour of Amazon's and Google's "listening")
ERROR_RGB = (255, 0, 0)
APA102_BRIGHTNESS = 8  # of 31: visible in a room, not blinding on a desk


def _gpiozero():
    try:
        import gpiozero
    except ImportError:
        raise WakegateError("this board's LED and button need gpiozero: pip install 'wakegate[pi]'") from None
    return gpiozero


def apa102_frame(colours: list[tuple[int, int, int]], brightness: int = APA102_BRIGHTNESS) -> list[int]:
    """The bytes that set a chain of APA102 LEDs: a zero start frame, one 0xE0|brightness,B,G,R word
    per LED, and enough 1-bits at the end for the last LED's data to be clocked through the chain."""
    data = [0, 0, 0, 0]
    for red, green, blue in colours:
        data += [0xE0 | (brightness & 0x1F), blue, green, red]
    return data + [0xFF] * max(4, (len(colours) + 15) // 16)


class Apa102Chain:
    """APA102 (DotStar) LEDs on SPI 0, as on ReSpeaker HATs, through gpiozero's SPI interface."""

    def __init__(self, count: int, power_pin: int | None = None, pin_factory=None):
        gpiozero = _gpiozero()
        self.count = count
        self._power = gpiozero.DigitalOutputDevice(power_pin, initial_value=True, pin_factory=pin_factory) if power_pin is not None else None
        self._device = gpiozero.SPIDevice(port=0, device=0, pin_factory=pin_factory)

    def show(self, colour: tuple[int, int, int]) -> None:
        # gpiozero has no APA102 class; its SPIDevice gives the bus (hardware SPI on a Pi, software on mock pins).
        self._device._spi.transfer(apa102_frame([colour] * self.count))

    def close(self) -> None:
        self.show((0, 0, 0))
        self._device.close()
        if self._power is not None:
            self._power.close()


class BoardIO:
    """The pins of one board, wired to the indicator (LED) and the controller (mute button)."""

    def __init__(self, profile: BoardProfile, controller, indicator, pin_factory=None):
        gpiozero = _gpiozero()
        self.profile = profile
        self._controller = controller
        self._led = self._chain = self._button = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", gpiozero.PinFactoryFallback)  # the error below says it in one line
                if profile.led.type == "gpio":
                    self._led = gpiozero.LED(profile.led.pin, pin_factory=pin_factory)
                elif profile.led.type == "apa102":
                    self._chain = Apa102Chain(profile.led.count, profile.led.power_pin, pin_factory=pin_factory)
                if profile.mute_button_pin is not None:
                    # Pressed = pulled to ground; 50 ms swallows contact bounce without delaying a press.
                    self._button = gpiozero.Button(profile.mute_button_pin, pull_up=True, bounce_time=0.05, pin_factory=pin_factory)
                    self._button.when_pressed = self._toggle_mute
        except gpiozero.GPIOZeroError as exc:
            self.close()
            raise WakegateError(f"board {profile.name}: cannot use its pins ({exc}); not this board, or lgpio missing "
                                f"(pip install 'wakegate[pi]')") from None
        self.show_privacy(indicator.is_on)
        indicator.add_output(self.show_privacy)

    def _toggle_mute(self) -> None:
        muted = not self._controller.muted
        log.warning("mute button: %s", "muting" if muted else "unmuting")
        self._controller.set_muted(muted)

    def show_privacy(self, on: bool) -> None:
        if self._led is not None:
            self._led.value = on
        if self._chain is not None:
            self._chain.show(PRIVACY_RGB if on else (0, 0, 0))

    def show_error(self, duration_s: float = 3.0, period_s: float = 0.2) -> None:
        """Fast blinking before the process ends with an error (systemd then restarts it)."""
        flashes = max(1, round(duration_s / period_s))
        if self._led is not None:
            self._led.blink(period_s / 2, period_s / 2, n=flashes, background=False)
        elif self._chain is not None:
            for _ in range(flashes):
                self._chain.show(ERROR_RGB)
                time.sleep(period_s / 2)
                self._chain.show((0, 0, 0))
                time.sleep(period_s / 2)

    def close(self, failed: bool = False, error_blink_s: float = 3.0) -> None:
        if failed:
            try:
                self.show_error(error_blink_s)
            except Exception as exc:  # the error being reported matters more than its light
                log.error("cannot show the error on the board's LED: %s", exc)
        for device in (self._button, self._led, self._chain):
            if device is not None:
                device.close()
        self._button = self._led = self._chain = None


def open_board_io(profile: BoardProfile | None, controller, indicator) -> BoardIO | None:
    """The board's pins, or None for a board without any (nothing imported, nothing opened)."""
    if profile is None or not profile.has_pins:
        return None
    return BoardIO(profile, controller, indicator)
