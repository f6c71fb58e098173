import json
import subprocess
import sys

import pytest

from firmware_py.audit import AuditLog


@pytest.fixture
def log(tmp_path):
    log = AuditLog(tmp_path / "audit.log", clock=lambda: 1_700_000_000.4)
    for i in range(5):
        log.append("captured", f"clip{i}", wake_word="alexa")
    log.append("deleted", "clip2")
    return log


def test_a_clean_log_verifies(log):
    result = log.verify()
    assert result.ok and result.entries == 6 and result.head == log.entries()[-1]["hash"]
    entry = log.entries()[0]
    assert entry["time"] == "2023-11-14T22:13:20Z" and entry["prev"] == "0" * 64
    assert (log.path.stat().st_mode & 0o777) == 0o600


def rewrite(log, transform):
    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join(transform(lines)) + "\n")


@pytest.mark.parametrize(
    "transform, problem",
    [
        (lambda lines: lines[:2] + lines[3:], "does not follow"),  # an entry deleted
        (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], "does not follow"),  # reordered
        (lambda lines: [l.replace("clip3", "clip9") for l in lines], "was edited"),  # an entry edited
        (lambda lines: lines[:1] + ["not json"] + lines[1:], "not a JSON entry"),
        (lambda lines: lines[1:], "does not follow"),  # the first entry removed
    ],
)
def test_tampering_is_found(log, transform, problem):
    rewrite(log, transform)
    result = log.verify()
    assert not result.ok and problem in result.problem


def test_a_forged_entry_with_its_own_hash_still_breaks_the_chain(log):
    import hashlib

    def forge(lines):
        entry = json.loads(lines[3])
        entry["clip_id"] = "forged"
        body = {k: v for k, v in entry.items() if k != "hash"}
        entry["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        return lines[:3] + [json.dumps(entry, sort_keys=True)] + lines[4:]

    rewrite(log, forge)
    result = log.verify()
    assert not result.ok and result.entries == 4 and "does not follow" in result.problem


def test_unknown_events_are_refused(log):
    with pytest.raises(ValueError):
        log.append("listened")


def test_processes_appending_at_once_keep_one_chain(tmp_path):
    path = tmp_path / "audit.log"
    script = (
        "import sys; from firmware_py.audit import AuditLog\n"
        "log = AuditLog(sys.argv[1])\n"
        "for i in range(40): log.append('captured', f'{sys.argv[2]}-{i}')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), name]) for name in "abc"]
    assert all(p.wait(60) == 0 for p in procs)
    result = AuditLog(path).verify()
    assert result.ok and result.entries == 120


def test_a_torn_last_line_is_skipped_when_appending(tmp_path):
    log = AuditLog(tmp_path / "audit.log")
    log.append("captured", "a")
    with open(log.path, "ab") as handle:
        handle.write(b'{"seq": 2, "tor')  # a crash in the middle of a write
    entry = log.append("captured", "b")
    assert entry["seq"] == 2
    assert log.verify().ok and [e["clip_id"] for e in log.entries()] == ["a", "b"]
