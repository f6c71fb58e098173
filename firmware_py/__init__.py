"""wakegate: a privacy-first wake-word gate. No audio leaves unless the wake word fires."""

__version__ = "0.1.0"

import os as _os

# onnxruntime (1.32 on Linux) starts Microsoft's telemetry when a session is created: a persistent random
# device id, an event cache under $XDG_CACHE_HOME and an uploader. A privacy gate runs none of that. The
# switch only works if set before onnxruntime initialises, so it is set here, before any of our modules
# can import it, and it is not the user's to turn back on.
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
