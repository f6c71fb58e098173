"""Property-based tests: any config file ends in a settings object or a one-line ConfigError."""

import dataclasses
import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzzlib  # noqa: E402
from firmware_py.config import _SECTION_TYPES, Settings, load_settings  # noqa: E402
from firmware_py.delivery import SinkSettings  # noqa: E402
from firmware_py.errors import ConfigError  # noqa: E402

FUZZ = settings(max_examples=80, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Every known key of every section (read from the dataclasses, so new settings are fuzzed too).
SECTIONS = {name: [f.name for f in dataclasses.fields(cls)] for name, cls in _SECTION_TYPES.items()}
SINK_KEYS = [f.name for f in dataclasses.fields(SinkSettings)]

# -- a small TOML writer for generated structures ----------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(doc: dict) -> str:
    lines = []
    for section, table in doc.items():
        if section == "sinks" and isinstance(table, list) and table and all(isinstance(t, dict) for t in table):
            for sink in table:
                lines.append("[[sinks]]")
                lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in sink.items()]
        elif isinstance(table, dict):
            lines.append(f"[{json.dumps(section)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
        else:
            lines.insert(0, f"{json.dumps(section)} = {toml_value(table)}")
    return "\n".join(lines) + "\n"


scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(), text,
    st.sampled_from([0, 1, 16, 80, 16000, 0.5, 1.5, -1, "alexa", "webhook", "ha-stt", "wyoming", "full", "none",
                     "http://127.0.0.1/x", "https://h/x", "http://[::1", "http://10.0.0.1/", "a b", ""]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(text, inner, max_size=4)), max_leaves=8)


def table_of(keys):
    return st.dictionaries(st.one_of(st.sampled_from(keys), text), values, max_size=len(keys) + 1)


documents = st.fixed_dictionaries(
    {},
    optional={
        **{section: st.one_of(table_of(keys), values) for section, keys in SECTIONS.items()},
        "sinks": st.one_of(st.lists(table_of(SINK_KEYS), max_size=3), values),
        "extra": values,
    },
)


def check(path: Path) -> None:
    result = fuzzlib.expect_clean(load_settings, path, errors=ConfigError)
    assert result is None or isinstance(result, Settings)


@FUZZ
@given(documents)
def test_any_structure_of_valid_toml(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("cfg") / "wakegate.toml"
    path.write_text(toml_document(doc), encoding="utf-8")
    check(path)


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cfg") / "wakegate.toml"
    path.write_bytes(data)
    check(path)


@pytest.mark.parametrize("text, message", [
    ("a = " + "[" * 3000 + "]" * 3000, "nested too deeply"),  # tomllib's RecursionError
    ("x = " + "{a = " * 3000 + "1" + "}" * 3000, "nested too deeply"),
    ('[[sinks]]\nname = "s"\ntype = "webhook"\nurl = "http://[::1"\n', "url must be an http"),  # urlsplit's ValueError
    ('[[sinks]]\nname = "s"\ntype = "wyoming"\nmax_pending = 0\n', "max_pending"),  # IndexError on the first clip
    ('[[sinks]]\nname = "s"\ntype = "wyoming"\ntimeout_s = -1.0\n', "timeout_s"),  # ValueError in urlopen
    ('[audio]\nstall_timeout_s = nan\n', "expected float, got nan"),  # passed the `<= 0` check
    ('[detector]\nthresholds = { a = nan }\n', "detector.thresholds"),
    ('["a\\nb"]\n', "unknown config section"),  # one line even when the name holds a line break
    ('[gate]\n"x\\ny" = 1\n', "unknown setting"),
])
def test_regressions(tmp_path, text, message):
    path = tmp_path / "wakegate.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(path)
    fuzzlib.assert_one_line(caught.value)
