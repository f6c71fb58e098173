"""Where the recipe reads shared data from and writes its caches to."""

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Generated audio, caches and checkpoints; git-ignored (/models/work/ in .gitignore).
WORK_DIR = os.path.join(REPO_ROOT, "models", "work")
# Real speech, noise and Kokoro voice vectors; read in place, never copied into the repo.
SHARED_DATA_DIR = os.environ.get("WAKEGATE_SHARED_DATA", "/work/shared/data")
KOKORO_VOICES_DIR = os.path.join(SHARED_DATA_DIR, "tts", "kokoro-voices")
# Held-out music for evaluation only (apt-get install wesnoth-1.16-music); never trained on.
MUSIC_DIR = os.environ.get("WAKEGATE_DEV_MUSIC", "/usr/share/games/wesnoth/1.16/data/core/music")
# Recorded music for training backgrounds (other Debian packages, never the held-out music above):
# colobot-common-sounds (GPL-3+), asc-music (GPL-2+), lincity-ng-data (GPL-2+), asterisk-moh-opsound-wav
# (CC BY-SA 3.0). Directories that are missing are skipped.
TRAINING_MUSIC_DIRS = os.environ.get("WAKEGATE_TRAINING_MUSIC", os.pathsep.join([
    "/usr/share/games/colobot/music", "/usr/share/games/asc/music",
    "/usr/share/games/lincity-ng/music/default", "/usr/share/asterisk/moh"])).split(os.pathsep)
