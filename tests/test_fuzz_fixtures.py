"""Property-based tests: any labels.csv / labels.jsonl ends in fixtures or a one-line FixtureError."""

import csv
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzzlib  # noqa: E402
from firmware_py.fixtures import FixtureError, load_fixtures  # noqa: E402

FUZZ = settings(max_examples=80, deadline=2000)
_ROOT = Path(tempfile.mkdtemp(prefix="wakegate-test-fuzz-fixtures-"))
names = st.one_of(st.sampled_from(["a.wav", "sub/b.flac", "missing.wav", "../x.wav", "/abs.wav", "", "none", " a.wav "]),
                  st.text(max_size=12))
numbers = st.one_of(st.floats(), st.integers(), st.text(max_size=8), st.none(), st.booleans(),
                    st.sampled_from(["1.5", "nan", "inf", "-1", "1e400", 10**400]))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=6)
rows = st.fixed_dictionaries({}, optional={"file": names | json_values, "wake_word": st.sampled_from(["alexa", "none", "", "NONE"]) | json_values,
                                           "start_s": numbers, "end_s": numbers, "extra": json_values})


def folder_with(labels_name: str, content: bytes) -> Path:
    folder = _ROOT / "pack"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "sub").mkdir(parents=True)
    for name in ("a.wav", "sub/b.flac"):
        (folder / name).write_bytes(b"RIFF")
    (folder / labels_name).write_bytes(content)
    return folder


def check(folder: Path) -> None:
    result = fuzzlib.expect_clean(load_fixtures, folder, errors=FixtureError)
    assert result is None or isinstance(result, list)


@FUZZ
@given(st.lists(rows, max_size=5))
def test_jsonl_rows(rows_):
    content = "\n".join(json.dumps(r) for r in rows_).encode()
    check(folder_with("labels.jsonl", content))


@FUZZ
@given(st.lists(rows, max_size=5), st.booleans())
def test_csv_rows(rows_, header):
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(["file", "wake_word", "start_s", "end_s"])
    for row in rows_:
        writer.writerow([row.get(k, "") for k in ("file", "wake_word", "start_s", "end_s")])
    check(folder_with("labels.csv", out.getvalue().encode("utf-8", "surrogatepass")))


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["labels.csv", "labels.jsonl"]))
def test_any_bytes(data, name):
    check(folder_with(name, data))


REGRESSIONS = Path(__file__).parent / "fuzz" / "regressions" / "fixtures"


@pytest.mark.parametrize("name, message", [
    ("huge_field.csv.gz", "not readable CSV"),  # csv.Error: field larger than field limit
    ("huge_int.jsonl", "not a number"),  # OverflowError from float(10**400)
    ("deep.jsonl", "not a JSON object"),  # RecursionError
    ("newline_name.jsonl", "does not exist"),  # the message was two lines
])
def test_regressions(name, message):
    labels = "labels.csv" if ".csv" in name else "labels.jsonl"
    folder = folder_with(labels, fuzzlib.read_input(REGRESSIONS / name))
    with pytest.raises(FixtureError, match=message) as caught:
        load_fixtures(folder)
    fuzzlib.assert_one_line(caught.value)
