"""Signed models: the runtime refuses a model whose signature or hash does not match a trusted key."""

import json
import shutil
import subprocess
import sys

import pytest

from firmware_py.errors import ModelError
from firmware_py.model import load_model
from firmware_py.signing import check_model, sign_model, signature_path, trusted_keys
from synthetic_model import build_loud_sound_model


@pytest.fixture
def signed(tmp_path, test_signing_key, loud_model):
    """A signed copy of the test model with a card beside it."""
    model = tmp_path / "loud.onnx"
    shutil.copy(loud_model, model)
    (tmp_path / "loud.md").write_text("# loud\nA test model.\n")
    sign_model(model, test_signing_key)
    return model


def test_a_signed_model_loads(signed):
    assert check_model(signed).startswith("signed by ")
    assert load_model(str(signed)).info.wake_word == "loud"


def test_the_shipped_model_is_signed_by_the_shipped_release_key():
    from firmware_py.model import resolve_model

    manifest = json.loads(signature_path(resolve_model("alexa")).read_text())
    assert manifest["card"] == "alexa.md"
    assert manifest["key_id"] in trusted_keys(extra=())  # the release key, not only the test key
    assert check_model(resolve_model("alexa")).startswith("signed by")


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda m: m.write_bytes(m.read_bytes() + b"\0"), "does not match its signature"),
        (lambda m: m.with_suffix(".md").write_text("# loud\nA friendlier model.\n"), "its card loud.md does not match"),
        (lambda m: m.with_suffix(".md").unlink(), "its card loud.md does not match"),
        (lambda m: signature_path(m).write_text(signature_path(m).read_text().replace('"model_sha256": "', '"model_sha256": "0')), "signature does not verify"),
        (lambda m: signature_path(m).write_text("{}"), "not a wakegate signature"),
        (lambda m: signature_path(m).write_text("garbage"), "not a readable signature file"),
    ],
)
def test_tampering_is_refused_even_when_unsigned_models_are_allowed(signed, tamper, message):
    tamper(signed)
    for allow in (False, True):
        with pytest.raises(ModelError, match=message):
            check_model(signed, allow_unsigned=allow)


def test_a_model_signed_by_an_untrusted_key_is_refused(tmp_path, signed):
    subprocess.run([sys.executable, "-m", "firmware_py", "models", "sign", str(signed), "--key", str(tmp_path / "mine.pem"), "--new-key"],
                   check=True, capture_output=True)
    with pytest.raises(ModelError, match="which is not trusted"):
        check_model(signed)
    assert check_model(signed, extra_keys=[tmp_path / "mine.pub.pem"]).startswith("signed by")  # [models] trusted_keys


def test_unsigned_models_need_the_owners_consent(tmp_path):
    model = build_loud_sound_model(tmp_path / "mine.onnx")
    with pytest.raises(ModelError, match="not signed"):
        load_model(str(model))
    assert load_model(str(model), allow_unsigned=True).info.wake_word == "loud"


def test_models_verify_command(tmp_path, signed):
    ok = subprocess.run([sys.executable, "-m", "firmware_py", "models", "verify", str(signed)], capture_output=True, text=True)
    assert ok.returncode == 0 and "signed by" in ok.stdout
    signed.write_bytes(signed.read_bytes() + b"x")
    bad = subprocess.run([sys.executable, "-m", "firmware_py", "models", "verify", str(signed)], capture_output=True, text=True)
    assert bad.returncode == 1 and "REFUSED" in bad.stdout and "Traceback" not in bad.stderr
    run = subprocess.run([sys.executable, "-m", "firmware_py", "detect", str(tmp_path / "none.wav"), "--model", str(signed)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "does not match its signature" in run.stderr
