"""Fuzz target: ``firmware_py.config.load_settings`` on arbitrary file bytes (ConfigError only)."""

import os
import tempfile

import fuzzlib

with fuzzlib.instrumented(__name__):
    from firmware_py.config import load_settings
    from firmware_py.errors import ConfigError

_DIR = tempfile.mkdtemp(prefix="wakegate-fuzz-config-")
_PATH = os.path.join(_DIR, "wakegate.toml")


def one_input(data: bytes) -> None:
    with open(_PATH, "wb") as handle:
        handle.write(data)
    fuzzlib.expect_clean(load_settings, _PATH, errors=ConfigError)


if __name__ == "__main__":
    fuzzlib.main(one_input)
