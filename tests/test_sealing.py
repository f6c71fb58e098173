import os

import pytest

from firmware_py.sealing import (
    KeyFileError,
    OwnerPublicKey,
    SealedClipError,
    generate_keys,
    load_private_key,
    open_sealed,
    read_header,
    seal,
)


@pytest.fixture
def keys(tmp_path):
    private, public = tmp_path / "k" / "owner.key", tmp_path / "d" / "owner.pub"
    generate_keys(private, public)
    return load_private_key(private), OwnerPublicKey.load(public)


def test_seal_and_open(keys):
    private, public = keys
    sealed = seal(b"RIFF....audio", {"id": "abc", "wake_word": "alexa"}, public)
    meta, plaintext = open_sealed(sealed, private)
    assert plaintext == b"RIFF....audio"
    assert meta["id"] == "abc" and meta["key_id"] == public.key_id
    assert read_header(sealed)[0] == meta  # metadata is readable without the key
    assert b"RIFF....audio" not in sealed


def test_each_seal_is_different(keys):
    _, public = keys
    assert seal(b"x" * 100, {"id": "a"}, public) != seal(b"x" * 100, {"id": "a"}, public)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b.replace(b'"wake_word":"alexa"', b'"wake_word":"alexb"'),  # metadata is bound to the audio
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # ciphertext
        lambda b: b[:-20],  # truncated
    ],
)
def test_tampering_is_detected(keys, tamper):
    private, public = keys
    sealed = seal(b"audio" * 100, {"id": "abc", "wake_word": "alexa"}, public)
    with pytest.raises(SealedClipError, match="does not open"):
        open_sealed(tamper(sealed), private)


def test_another_key_cannot_open(keys, tmp_path):
    _, public = keys
    generate_keys(tmp_path / "other.key", tmp_path / "other.pub")
    with pytest.raises(SealedClipError, match="sealed to another key"):
        open_sealed(seal(b"audio", {"id": "a"}, public), load_private_key(tmp_path / "other.key"))


@pytest.mark.parametrize("data", [b"", b"RIFF", b"WAKEGATE-CLIP 1\n" + b"x" * 5000, b"WAKEGATE-CLIP 1\n[1]\n"])
def test_not_a_clip(keys, data):
    with pytest.raises(SealedClipError):
        open_sealed(data, keys[0])


def test_key_files_are_private_and_not_overwritten(tmp_path):
    private, public = tmp_path / "owner.key", tmp_path / "owner.pub"
    generate_keys(private, public)
    assert (os.stat(private).st_mode & 0o777) == 0o600
    with pytest.raises(KeyFileError, match="use --force"):
        generate_keys(private, public)
    generate_keys(private, public, force=True)


@pytest.mark.parametrize("content, message", [(None, "wakegate keys init"), (b"junk", "not a PEM public key")])
def test_bad_public_key(tmp_path, content, message):
    path = tmp_path / "owner.pub"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KeyFileError, match=message):
        OwnerPublicKey.load(path)
