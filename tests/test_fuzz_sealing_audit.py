"""Property-based tests: sealed clips and audit logs of any content end in a result or a one-line error."""

import json
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzzlib  # noqa: E402
from firmware_py.audit import AuditLog  # noqa: E402
from firmware_py.sealing import (MAGIC, OwnerPublicKey, SealedClipError, generate_keys, load_private_key,  # noqa: E402
                                 open_sealed, read_header, seal)

FUZZ = settings(max_examples=80, deadline=2000)
_DIR = Path(tempfile.mkdtemp(prefix="wakegate-test-fuzz-seal-"))
generate_keys(_DIR / "owner.key", _DIR / "owner.pub")
KEY = load_private_key(_DIR / "owner.key")
GOOD = seal(b"RIFF....WAVE", {"id": "abc", "wake_word": "alexa"}, OwnerPublicKey.load(_DIR / "owner.pub"))
REGRESSIONS = Path(__file__).parent / "fuzz" / "regressions"
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)


def check_sealed(data: bytes) -> None:
    fuzzlib.expect_clean(read_header, data, errors=SealedClipError)
    fuzzlib.expect_clean(open_sealed, data, KEY, errors=SealedClipError)


@FUZZ
@given(st.binary(max_size=300))
def test_sealed_any_bytes(data):
    check_sealed(data)
    check_sealed(MAGIC + data)


@FUZZ
@given(json_values, st.binary(max_size=100))
def test_sealed_any_header(header, ciphertext):
    check_sealed(MAGIC + json.dumps(header).encode() + b"\n" + ciphertext)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=4), st.integers(0, len(GOOD)))
def test_sealed_mutated(changes, cut):
    data = bytearray(GOOD)
    for position, value in changes:
        data[position] = value
    data = bytes(data[:cut])
    if data != GOOD:
        with pytest.raises(SealedClipError) as caught:
            open_sealed(data, KEY)
        fuzzlib.assert_one_line(caught.value)


def check_audit(content: bytes) -> None:
    path = _DIR / "audit.log"
    path.write_bytes(content)
    log = AuditLog(path, clock=lambda: 0)
    result = log.verify()
    assert result.problem is None or len(result.problem.splitlines()) == 1
    entry = log.append("deleted", "x")  # appending after whatever is there works
    assert isinstance(entry["seq"], int) and len(entry["hash"]) == 64


entries = st.one_of(json_values, st.fixed_dictionaries({"seq": json_values, "hash": json_values, "prev": json_values}))


@FUZZ
@given(st.lists(entries, max_size=5))
def test_audit_any_json_lines(lines):
    check_audit("\n".join(json.dumps(line) for line in lines).encode() + b"\n")


@FUZZ
@given(st.binary(max_size=300))
def test_audit_any_bytes(data):
    check_audit(data)


@pytest.mark.parametrize("name", ["non_object_line.log", "deep.log", "seq_infinity.log", "seq_newline.log"])
def test_audit_regressions(name):
    """A line that is JSON but not an object crashed verify() (AttributeError); deep nesting raised
    RecursionError; seq = Infinity crashed append() (OverflowError); a seq holding a line break made a
    two-line problem."""
    check_audit(fuzzlib.read_input(REGRESSIONS / "audit" / name))
    result = AuditLog(_DIR / "audit.log").verify()
    assert not result.ok


@pytest.mark.parametrize("name", ["deep_header.clip", "key_id_newline.clip"])
def test_sealed_regressions(name):
    """A deeply nested JSON header raised RecursionError; a key_id with a line break made a two-line message."""
    with pytest.raises(SealedClipError) as caught:
        open_sealed(fuzzlib.read_input(REGRESSIONS / "sealed" / name), KEY)
    fuzzlib.assert_one_line(caught.value)
