"""Signed models: a detached Ed25519 signature over a model file and its card.

``alexa.onnx.sig`` beside ``alexa.onnx`` is a small JSON manifest: the SHA-256 of the model file and
of its card (``alexa.md``), the signing key's id, and an Ed25519 signature over all of that. The
runtime loads a model only if its manifest is signed by a trusted key and both hashes match, unless
the owner allows unsigned local models (``[models] allow_unsigned = true``); a signed model that was
changed is refused even then. Trusted keys: the release keys shipped in ``firmware_py/trusted_keys``,
plus any the owner names in ``[models] trusted_keys`` or ``$WAKEGATE_TRUSTED_KEYS`` (paths joined by
``os.pathsep``). The check runs before onnxruntime parses a single byte of the model.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from .errors import ModelError

log = logging.getLogger("wakegate")

SHIPPED_KEYS = Path(__file__).resolve().parent / "trusted_keys"
SIGNATURE_FORMAT = 1


def signature_path(model: Path) -> Path:
    return model.with_name(model.name + ".sig")


def card_path(model: Path) -> Path | None:
    for suffix in (".md", ".json"):
        card = model.with_suffix(suffix)
        if card.is_file():
            return card
    return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _key_id(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _canonical(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def load_public_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ModelError(f"trusted key {path}: not a readable PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ModelError(f"trusted key {path}: not an Ed25519 key")
    return key


def trusted_keys(extra: Iterable[str | Path] = ()) -> dict[str, object]:
    """key id → Ed25519 public key, from the shipped keys, the environment and ``extra``."""
    paths = sorted(SHIPPED_KEYS.glob("*.pem")) if SHIPPED_KEYS.is_dir() else []
    paths += [Path(p) for p in os.environ.get("WAKEGATE_TRUSTED_KEYS", "").split(os.pathsep) if p]
    paths += [Path(p).expanduser() for p in extra]
    keys = {}
    for path in paths:
        key = load_public_key(path)
        keys[_key_id(key)] = key
    return keys


def sign_model(model: Path, private_key_path: Path) -> Path:
    """Write ``<model>.sig``, signed with an Ed25519 private key (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(Path(private_key_path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{private_key_path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ModelError(f"{private_key_path}: not an Ed25519 private key")
    card = card_path(model)
    manifest = {
        "format": SIGNATURE_FORMAT,
        "model": model.name,
        "model_sha256": _sha256(model),
        "card": card.name if card else None,
        "card_sha256": _sha256(card) if card else None,
        "key_id": _key_id(key.public_key()),
    }
    manifest["signature"] = base64.b64encode(key.sign(_canonical(manifest))).decode()
    path = signature_path(model)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def verify_model(model: Path, keys: dict[str, object]) -> dict:
    """The manifest of a model whose signature, model hash and card hash all check out."""
    from cryptography.exceptions import InvalidSignature

    sig = signature_path(model)
    try:
        manifest = json.loads(sig.read_text())
    except FileNotFoundError:
        raise ModelError(f"{model}: not signed (no {sig.name}); set [models] allow_unsigned = true to load local models") from None
    except (OSError, ValueError, UnicodeDecodeError):
        raise ModelError(f"{sig}: not a readable signature file") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SIGNATURE_FORMAT:
        raise ModelError(f"{sig}: not a wakegate signature (format {SIGNATURE_FORMAT})")
    key = keys.get(manifest.get("key_id"))
    if key is None:
        raise ModelError(f"{model}: signed by key {manifest.get('key_id')!r}, which is not trusted")
    try:
        key.verify(base64.b64decode(str(manifest.get("signature", "")), validate=True), _canonical(manifest))
    except (InvalidSignature, ValueError):
        raise ModelError(f"{sig}: the signature does not verify (the signature file was altered)") from None
    if manifest.get("model") != model.name or manifest.get("model_sha256") != _sha256(model):
        raise ModelError(f"{model}: the file does not match its signature (modified or replaced)")
    card = model.with_name(manifest["card"]) if manifest.get("card") else None
    if card is not None and (not card.is_file() or _sha256(card) != manifest.get("card_sha256")):
        raise ModelError(f"{model}: its card {card.name} does not match the signature (modified or missing)")
    return manifest


def check_model(model: Path, allow_unsigned: bool = False, extra_keys: Iterable[str | Path] = ()) -> str:
    """Refuse a model that is not signed by a trusted key; returns "signed by <key id>" or "unsigned"."""
    if not signature_path(model).exists() and allow_unsigned:
        log.info("loading unsigned model %s (allowed by [models] allow_unsigned)", model)
        return "unsigned (allowed)"
    manifest = verify_model(model, trusted_keys(extra_keys))
    return f"signed by {manifest['key_id']}"
