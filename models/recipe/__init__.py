"""Training recipe for wakegate wake-word models (see README.md). Needs the `train` extra; firmware_py never imports this."""

import os as _os

_os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # see firmware_py/__init__.py
