from pathlib import Path

import pytest

from synthetic_model import build_loud_sound_model

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def loud_model(tmp_path_factory) -> Path:
    """A model that fires on three loud frames: a stand-in wake word with exactly known behaviour."""
    return build_loud_sound_model(tmp_path_factory.mktemp("models") / "loud.onnx")


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"
