"""Labelled audio fixtures: a folder of audio files plus a labels file.

``labels.csv`` (header ``file,wake_word,start_s,end_s``) or ``labels.jsonl`` (one object per line with
the same keys). One row per wake word spoken; a file without the wake word has one row with
``wake_word`` = ``none`` (start/end empty). Paths are relative to the folder. Every audio file in the
folder must have at least one row, so nothing is silently left out of an evaluation.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import WakegateError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga"}
LABEL_FILES = ("labels.csv", "labels.jsonl")
NONE = "none"


class FixtureError(WakegateError):
    """A fixture folder or labels file is not usable."""


@dataclass(frozen=True)
class Utterance:
    wake_word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class FixtureFile:
    path: Path  # absolute
    name: str  # as written in the labels file
    utterances: tuple[Utterance, ...]  # empty: the file holds no wake word


def _short(value, limit: int = 60) -> str:
    """repr() keeps a message on one line; long values are cut."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(name: str) -> str:
    """A file name as written in a message: as is, unless it holds line breaks or other control characters."""
    return name[:200] if name.isprintable() else _short(name, 200)


def _number(value, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON integer too big for a float
        raise FixtureError(f"{where}: {_short(value)} is not a number of seconds") from None
    if not math.isfinite(number) or number < 0:
        raise FixtureError(f"{where}: {_short(value)} is not a time in seconds")
    return number


def _rows(labels: Path) -> list[tuple[str, dict]]:
    try:
        text = labels.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FixtureError(f"{labels}: not UTF-8 text") from None
    except OSError as exc:
        raise FixtureError(f"cannot read {labels}: {exc.strerror}") from None
    rows = []
    if labels.suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        required = {"file", "wake_word", "start_s", "end_s"}
        try:
            if reader.fieldnames is None or not required <= set(reader.fieldnames):
                raise FixtureError(f"{labels}: the header must name {', '.join(sorted(required))}")
            for number, row in enumerate(reader, start=2):
                rows.append((f"{labels.name}:{number}", row))
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise FixtureError(f"{labels.name}:{reader.line_num}: not readable CSV ({exc})") from None
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply
                raise FixtureError(f"{labels.name}:{number}: not a JSON object") from None
            if not isinstance(row, dict):
                raise FixtureError(f"{labels.name}:{number}: not a JSON object")
            rows.append((f"{labels.name}:{number}", row))
    return rows


def find_labels(folder: Path) -> Path:
    found = [folder / name for name in LABEL_FILES if (folder / name).is_file()]
    if not found:
        raise FixtureError(f"{folder}: no labels.csv or labels.jsonl")
    if len(found) > 1:
        raise FixtureError(f"{folder}: both labels.csv and labels.jsonl; keep one")
    return found[0]


def load_fixtures(folder: str | Path) -> list[FixtureFile]:
    """Read and check a fixture folder; files come back in a fixed (sorted) order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FixtureError(f"fixture folder not found: {folder}")
    labels = find_labels(folder)
    by_file: dict[str, list[Utterance]] = {}
    for where, row in _rows(labels):
        name = str(row.get("file") or "").strip()
        wake_word = str(row.get("wake_word") or "").strip().lower()
        if not name:
            raise FixtureError(f"{where}: no file named")
        if not wake_word:
            raise FixtureError(f"{where}: no wake_word (use 'none' for a file without one)")
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise FixtureError(f"{where}: {_short(name, 200)} must be a path inside the fixture folder")
        utterances = by_file.setdefault(name, [])
        if wake_word == NONE:
            continue
        start = _number(row.get("start_s"), f"{where} start_s")
        end = _number(row.get("end_s"), f"{where} end_s")
        if end <= start:
            raise FixtureError(f"{where}: end_s {end} is not after start_s {start}")
        utterances.append(Utterance(wake_word, start, end))
    if not by_file:
        raise FixtureError(f"{labels}: no rows")
    audio_files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES}
    unlabelled = sorted(audio_files - set(by_file))
    if unlabelled:
        raise FixtureError(f"{folder}: {len(unlabelled)} audio file(s) have no label, e.g. {_name(unlabelled[0])}")
    fixtures = []
    for name in sorted(by_file):
        path = folder / name
        if not path.is_file():
            raise FixtureError(f"{labels.name}: labelled file {_name(name)} does not exist")
        fixtures.append(FixtureFile(path.resolve(), name, tuple(sorted(by_file[name], key=lambda u: u.start_s))))
    return fixtures


def write_labels(folder: Path, rows: list[tuple[str, str, float | None, float | None]]) -> Path:
    """Write labels.csv from (file, wake_word, start_s, end_s) rows."""
    path = folder / "labels.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "wake_word", "start_s", "end_s"])
        for name, wake_word, start, end in rows:
            writer.writerow([name, wake_word, "" if start is None else f"{start:.3f}", "" if end is None else f"{end:.3f}"])
    return path
