"""The owner's controls: a clip's whole life through the real CLI, and the audit log that records it."""

import ctypes.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import open_clips
from synthetic_model import burst, noise

RATE = 16000


def wakegate(*args, env=None):
    result = subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, **(env or {})))
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def two_clips(tmp_path, loud_model, data_dir):
    audio = np.concatenate([noise(2.0, -60), burst(0.3), noise(1.0, -30), noise(3.0, -65)] * 2)
    path = tmp_path / "two.wav"
    sf.write(path, audio, RATE, subtype="PCM_16")
    assert wakegate("run", "--input", path, "--model", loud_model, "--data-dir", data_dir).returncode == 0
    return data_dir


def ids(data_dir):
    return [line.split()[0] for line in wakegate("clips", "list", "--data-dir", data_dir).stdout.splitlines()]


def test_list_export_delete_and_the_audit_trail(two_clips, owner_key, tmp_path):
    data_dir = two_clips
    first, second = ids(data_dir)
    listing = wakegate("clips", "list", "--data-dir", data_dir).stdout
    assert "loud" in listing and "silence" in listing

    out = tmp_path / "first.wav"
    assert wakegate("clips", "export", first[:8], out, "--data-dir", data_dir).returncode == 0
    exported, rate = sf.read(out, dtype="int16")
    opened = {meta["id"]: audio for meta, audio in open_clips(data_dir, owner_key)}
    np.testing.assert_array_equal(exported, opened[first])

    assert wakegate("clips", "delete", first, "--data-dir", data_dir).returncode == 0
    assert ids(data_dir) == [second]
    assert wakegate("clips", "purge", "--data-dir", data_dir).stdout.strip() == "purged 1 clip(s)"
    assert ids(data_dir) == ["no"]  # "no clips in ..."

    verify = wakegate("audit", "verify", "--data-dir", data_dir)
    assert verify.returncode == 0 and "audit log intact: 5 entries" in verify.stdout
    events = [(e["event"], e["clip_id"]) for e in map(json.loads, (data_dir / "audit.log").read_text().splitlines())]
    assert events == [("captured", first), ("captured", second), ("exported", first), ("deleted", first), ("purged", second)]
    shown = wakegate("audit", "show", "--data-dir", data_dir).stdout
    assert "captured" in shown and first in shown


def test_purge_older_than_keeps_recent_clips(two_clips):
    assert wakegate("clips", "purge", "--older-than", "7d", "--data-dir", two_clips).stdout.strip() == "purged 0 clip(s)"
    assert len(ids(two_clips)) == 2
    bad = wakegate("clips", "purge", "--older-than", "soon", "--data-dir", two_clips)
    assert bad.returncode == 2 and "use a number and a unit" in bad.stderr


def test_a_full_spool_drops_the_oldest_and_says_so(tmp_path, loud_model, data_dir):
    config = tmp_path / "c.toml"
    config.write_text(f'[spool]\ndir = "{data_dir}"\nmax_clips = 2\n')
    audio = np.concatenate([noise(2.0, -60), burst(0.3), noise(1.0, -30), noise(3.0, -65)] * 3)
    path = tmp_path / "three.wav"
    sf.write(path, audio, RATE, subtype="PCM_16")
    assert wakegate("run", "--input", path, "--model", loud_model, "--config", config).returncode == 0
    entries = [json.loads(line) for line in (data_dir / "audit.log").read_text().splitlines()]
    assert [e["event"] for e in entries] == ["captured", "captured", "dropped", "captured"]
    assert entries[2]["clip_id"] == entries[0]["clip_id"] and entries[2]["reason"] == "spool full"
    assert len(ids(data_dir)) == 2


def test_a_tampered_audit_log_fails_verification(two_clips):
    log = two_clips / "audit.log"
    lines = log.read_text().splitlines()
    log.write_text(lines[1] + "\n")
    result = wakegate("audit", "verify", "--data-dir", two_clips)
    assert result.returncode == 1 and "NOT intact" in result.stderr


def test_opening_needs_the_owners_private_key(two_clips, tmp_path):
    (first, _) = ids(two_clips)
    missing = wakegate("clips", "export", first, tmp_path / "x.wav", "--data-dir", two_clips, "--private-key", tmp_path / "none.key")
    assert missing.returncode == 2 and "no private key at" in missing.stderr
    assert not (tmp_path / "x.wav").exists()
    unknown = wakegate("clips", "delete", "ffff", "--data-dir", two_clips)
    assert unknown.returncode == 2 and "no clip 'ffff'" in unknown.stderr


@pytest.mark.skipif(ctypes.util.find_library("portaudio") is None, reason="needs PortAudio")
def test_play_sends_the_clip_to_the_output_device(two_clips, owner_key, tmp_path):
    played = tmp_path / "played.raw"
    config = tmp_path / "asound.conf"
    config.write_text(f'</usr/share/alsa/alsa.conf>\npcm.!default {{\n type file\n slave.pcm "null"\n file "{played}"\n format "raw"\n}}\n')
    (first, _) = ids(two_clips)
    result = wakegate("clips", "play", first, "--data-dir", two_clips, env={"ALSA_CONFIG_PATH": str(config)})
    assert result.returncode == 0, result.stderr
    audio = {meta["id"]: a for meta, a in open_clips(two_clips, owner_key)}[first]
    sound = np.fromfile(played, dtype="<i2")
    start = np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(sound, 32) == audio[:32], axis=1))
    assert len(start) == 1
    np.testing.assert_array_equal(sound[start[0] : start[0] + len(audio)], audio)


def test_run_without_an_owner_key_refuses_to_start(tmp_path, loud_model, owner_key):
    path = tmp_path / "a.wav"
    sf.write(path, noise(1.0), RATE)
    result = wakegate("run", "--input", path, "--model", loud_model, "--data-dir", tmp_path / "empty")
    assert result.returncode == 2 and "run 'wakegate keys init' first" in result.stderr


def test_keys_init_writes_the_public_key_for_the_device(tmp_path, owner_key):
    result = wakegate("keys", "init", "--data-dir", tmp_path / "dev")
    assert result.returncode == 0
    assert (tmp_path / "dev" / "owner.pub").exists() and owner_key.exists()
    again = wakegate("keys", "init", "--data-dir", tmp_path / "dev")
    assert again.returncode == 2 and "--force" in again.stderr
