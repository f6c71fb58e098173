"""Training recipe for wakegate wake-word models (see README.md). Needs the `train` extra; firmware_py never imports this."""
