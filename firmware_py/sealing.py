"""Sealing clips to the owner's public key (HPKE, RFC 9180), and opening them with the private key.

A sealed clip is one file:

    WAKEGATE-CLIP 1\\n
    {"id": ..., "time": ..., "wake_word": ..., ...}\\n     the metadata, readable without the key
    <HPKE ciphertext of the WAV>                          X25519 / HKDF-SHA256 / ChaCha20-Poly1305

The metadata line is bound into the encryption (as HPKE ``info``), so editing it makes the clip
impossible to open. The device holds only the public key: it can seal, never open. The audio is
sealed in memory, so no plaintext audio is ever written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import WakegateError

MAGIC = b"WAKEGATE-CLIP 1\n"
SUITE_NAME = "X25519-HKDF-SHA256-ChaCha20Poly1305"
_INFO_PREFIX = b"wakegate clip v1\n"
MAX_HEADER = 4096


class KeyFileError(WakegateError):
    """A key file is missing, unreadable or of the wrong kind."""


class SealedClipError(WakegateError):
    """A sealed clip is damaged, tampered with, or sealed to another key."""


def _suite():
    try:
        from cryptography.hazmat.primitives import hpke
    except ImportError:  # cryptography < 47 has no HPKE
        raise WakegateError("sealing clips needs cryptography >= 47 (pip install -U cryptography)") from None
    return hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


@dataclass(frozen=True)
class OwnerPublicKey:
    key: object  # X25519PublicKey
    key_id: str  # first 16 hex digits of the SHA-256 of the raw key: says which key sealed a clip

    @classmethod
    def load(cls, path: Path) -> "OwnerPublicKey":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

        path = Path(path)
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except FileNotFoundError:
            raise KeyFileError(f"no owner public key at {path}: run 'wakegate keys init' first") from None
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"{path}: not a PEM public key ({exc})") from None
        if not isinstance(key, X25519PublicKey):
            raise KeyFileError(f"{path}: the owner key must be an X25519 key")
        return cls(key, key_id(key))


def key_id(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_private_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    path = Path(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise KeyFileError(f"no private key at {path} (give it with --private-key)") from None
    except (OSError, ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, X25519PrivateKey):
        raise KeyFileError(f"{path}: not an X25519 private key")
    return key


def generate_keys(private_path: Path, public_path: Path, force: bool = False) -> str:
    """Write a new owner key pair: the private key 0600, the public key beside the device's data."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    for path in (private_path, public_path):
        if path.exists() and not force:
            raise KeyFileError(f"{path} exists; keys init would replace it (use --force to do that)")
    private = X25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    from .spool import ensure_private_dir, write_atomically

    for path, data in ((private_path, private_pem), (public_path, public_pem)):
        ensure_private_dir(path.parent)
        write_atomically(path, data)
        os.chmod(path, 0o600)
    return key_id(private.public_key())


def _header_bytes(metadata: dict) -> bytes:
    return json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def seal(plaintext: bytes, metadata: dict, owner: OwnerPublicKey) -> bytes:
    header = _header_bytes({**metadata, "suite": SUITE_NAME, "key_id": owner.key_id})
    return MAGIC + header + _suite().encrypt(plaintext, owner.key, info=_INFO_PREFIX + header)


def read_header(data: bytes) -> tuple[dict, bytes, bytes]:
    """(metadata, header line, ciphertext) of a sealed clip, without opening it."""
    if not data.startswith(MAGIC):
        raise SealedClipError("not a sealed wakegate clip")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER)
    if end < 0:
        raise SealedClipError("sealed clip has no readable header")
    header = data[len(MAGIC) : end + 1]
    try:
        metadata = json.loads(header)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply
        raise SealedClipError("sealed clip header is not JSON") from None
    if not isinstance(metadata, dict):
        raise SealedClipError("sealed clip header is not a JSON object")
    return metadata, header, data[end + 1 :]


def open_sealed(data: bytes, private_key) -> tuple[dict, bytes]:
    """(metadata, plaintext) of a sealed clip; fails if it was tampered with or sealed to another key."""
    from cryptography.exceptions import InvalidTag

    metadata, header, ciphertext = read_header(data)
    if metadata.get("key_id") != key_id(private_key.public_key()):
        raise SealedClipError(f"sealed to another key ({str(metadata.get('key_id'))[:64]!r})")
    try:
        plaintext = _suite().decrypt(ciphertext, private_key, info=_INFO_PREFIX + header)
    except (InvalidTag, ValueError):
        raise SealedClipError("sealed clip was modified or is damaged: it does not open") from None
    return metadata, plaintext
