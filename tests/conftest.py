import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from firmware_py.sealing import generate_keys, load_private_key, open_sealed
from synthetic_model import build_loud_sound_model

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def test_signing_key(tmp_path_factory) -> Path:
    """A model-signing key the whole test session trusts, as an owner would with [models] trusted_keys."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = tmp_path_factory.mktemp("signing")
    key = Ed25519PrivateKey.generate()
    private, public = folder / "test-signer.pem", folder / "test-signer.pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    os.environ["WAKEGATE_TRUSTED_KEYS"] = str(public)  # in-process loads and every `wakegate` subprocess
    return private


@pytest.fixture(scope="session")
def loud_model(tmp_path_factory, test_signing_key) -> Path:
    """A model that fires on three loud frames: a stand-in wake word with exactly known behaviour."""
    from firmware_py.signing import sign_model

    path = build_loud_sound_model(tmp_path_factory.mktemp("models") / "loud.onnx")
    sign_model(path, test_signing_key)
    return path


@pytest.fixture
def owner_key(tmp_path, monkeypatch) -> Path:
    """The owner's private key, where `wakegate` looks for it by default (also in subprocesses)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "wakegate" / "owner.key"


@pytest.fixture
def data_dir(tmp_path, owner_key) -> Path:
    """A device data directory that holds only the owner's public key, as after `wakegate keys init`."""
    path = tmp_path / "data"
    generate_keys(owner_key, path / "owner.pub")
    return path


def device_files(data_dir: Path) -> list[str]:
    """Everything in the data directory besides the owner's public key."""
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.name != "owner.pub")


def open_clips(data_dir: Path, owner_key: Path) -> list[tuple[dict, np.ndarray]]:
    """Open every sealed clip in the spool with the owner's private key: (metadata, int16 audio)."""
    key = load_private_key(owner_key)
    clips = []
    for path in sorted((data_dir / "spool").glob("*.clip")):
        meta, wav = open_sealed(path.read_bytes(), key)
        audio, rate = sf.read(io.BytesIO(wav), dtype="int16")
        assert rate == meta["sample_rate"]
        clips.append((meta, audio))
    return clips


def assert_no_plaintext(folder: Path, audio: np.ndarray) -> None:
    """No 64-sample run of ``audio`` (as 16-bit PCM) appears in any file under ``folder``."""
    needles = [audio[i : i + 64].astype("<i2").tobytes() for i in range(0, max(1, len(audio) - 64), 4000)]
    for file in (p for p in folder.rglob("*") if p.is_file()):
        content = file.read_bytes()
        for needle in needles:
            assert needle not in content, f"plaintext audio in {file}"
