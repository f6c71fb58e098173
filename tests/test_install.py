"""hw/install.sh, run for real inside a temporary root: twice (the second run changes nothing)."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INSTALL = REPO / "hw" / "install.sh"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                                reason="needs root and useradd (it makes a system user inside the temp root)")


@pytest.fixture
def target(tmp_path):
    """A temp root with just enough of /etc for useradd --prefix: root, and the audio group."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "group").write_text("root:x:0:\naudio:x:29:\n")
    for name, text in [("shadow", "root:*:19000:0:99999:7:::\n"), ("gshadow", "root:*::\naudio:*::\n")]:
        (root / "etc" / name).write_text(text)
        (root / "etc" / name).chmod(0o640)
    return root


def install(root, *args):
    result = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--no-pip", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def snapshot(root):
    """Every path with its type, mode, owner, mtime and content (the venv's own files aside)."""
    state = {}
    for path in sorted(root.rglob("*")):
        if ".venv" in path.parts[len(root.parts):][2:]:
            continue
        info = path.lstat()
        content = os.readlink(path) if path.is_symlink() else (path.read_bytes() if path.is_file() else None)
        state[str(path.relative_to(root))] = (stat.filemode(info.st_mode), info.st_uid, info.st_gid, info.st_mtime_ns, content)
    return state


def mode(path):
    return oct(path.stat().st_mode & 0o7777)


def test_install_twice_in_a_temp_root(target, tmp_path):
    owner_pub = tmp_path / "owner.pub"
    owner_pub.write_text("not really a key, just bytes to carry\n")
    first = install(target, "--board", "respeaker-2mic", "--owner-pub", str(owner_pub))
    assert "create system user wakegate" in first and "enable wakegate.service" in first
    passwd = (target / "etc" / "passwd").read_text()
    user = next(line for line in passwd.splitlines() if line.startswith("wakegate:")).split(":")
    assert user[6] == "/usr/sbin/nologin" and user[5] == "/var/lib/wakegate"
    assert "audio:x:29:wakegate" in (target / "etc" / "group").read_text()
    gid = int(next(line for line in (target / "etc" / "group").read_text().splitlines() if line.startswith("wakegate:")).split(":")[2])

    etc = target / "etc" / "wakegate"
    config = etc / "wakegate.toml"
    assert mode(etc) == "0o755" and mode(config) == "0o640" and (config.stat().st_uid, config.stat().st_gid) == (0, gid)
    assert 'public_key = "/etc/wakegate/owner.pub"' in config.read_text()
    assert (etc / "wakegate.env").read_text() == 'WAKEGATE_OPTS="--board respeaker-2mic"\n'
    assert (etc / "owner.pub").read_text() == owner_pub.read_text() and mode(etc / "owner.pub") == "0o644"
    assert not list(target.rglob("*.key")), "no private key on the device unless asked for"
    unit = target / "etc" / "systemd" / "system" / "wakegate.service"
    assert unit.read_bytes() == (REPO / "hw" / "wakegate.service").read_bytes() and mode(unit) == "0o644"
    wanted = unit.parent / "multi-user.target.wants" / "wakegate.service"
    assert wanted.is_symlink()
    assert (target / "opt" / "wakegate" / ".venv" / "bin" / "python").exists()

    # The admin's edits to the config survive a re-run; nothing else moves either.
    config.write_text(config.read_text() + "\n# edited by the admin\n")
    before = snapshot(target)
    second = install(target, "--board", "respeaker-2mic", "--owner-pub", str(owner_pub))
    assert "nothing to change: wakegate is installed" in second
    assert snapshot(target) == before
    assert "# edited by the admin" in config.read_text()


def test_dry_run_changes_nothing_and_says_what_it_would_do(target):
    before = snapshot(target)
    out = install(target, "--dry-run", "--board", "pi-4")
    assert snapshot(target) == before
    assert "would create system user wakegate" in out and "would create /etc/wakegate/wakegate.toml" in out
    assert "no owner key yet" in out and "owner.pub" in out  # the hint: only the public key goes on the device


def test_a_wrong_mode_is_repaired(target):
    install(target, "--board", "pi-4")
    unit = target / "etc" / "systemd" / "system" / "wakegate.service"
    unit.chmod(0o666)
    out = install(target, "--board", "pi-4")
    assert "set /etc/systemd/system/wakegate.service to 0644" in out and mode(unit) == "0o644"


def test_unknown_board_and_option_are_one_line_errors(target):
    for args in (["--board", "pi-9"], ["--frobnicate"]):
        result = subprocess.run(["bash", str(INSTALL), "--root", str(target), "--no-pip", *args], capture_output=True, text=True)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "install: error:" in result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="needs shellcheck")
def test_installer_is_shellcheck_clean():
    result = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
