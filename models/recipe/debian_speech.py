"""Real speech from Debian packages, split by voice into training negatives and held-out dev speech.

shared/data has little real speech recorded at a microphone (most of it is 8 kHz telephone audio),
and leaves 1.10 h for dev once its speakers are split; the accuracy targets ask for at least 3 h of
real speech the model never heard. These packages add about 7 h, all people recorded at a
microphone: telephone-prompt voices (English, Spanish, French, Italian, Russian), a game's casts in
Czech, Dutch and English, and KLettres' speakers of 22 languages:

    apt-get install -y asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav \
        asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav asterisk-prompt-es-co \
        asterisk-prompt-fr-armelle asterisk-prompt-it-menardi-wav fillets-ng-data fillets-ng-data-cs \
        fillets-ng-data-nl klettres-data

Each source is one voice or one cast, wholly in one split: "dev" (3.1 h: the Dutch cast, Allison
Smith in English and Spanish, both French voices) is only ever evaluated on, never trained on or
calibrated on; "train" (4.0 h) joins the real negative speech with `train --debian-speech`. Telephone
prompts are 8 kHz (two sets raw GSM 6.10, which libsndfile reads), the game dialogue 22 kHz, KLettres
44.1 kHz. Packages that are missing are skipped; the figures say how many hours there were. Silence
files and tones in the Asterisk sets are left out.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass

import numpy as np

from .music import decode_16k
from .paths import WORK_DIR

ROOT = "/"  # where the packages are installed
SPLITS = ("train", "dev")
DEV_STREAM = "dev speech, Debian packages"  # the dev split's name in the evaluation's metrics and the card


@dataclass(frozen=True)
class Source:
    package: str
    pattern: str  # a glob under ROOT
    voice: str
    licence: str
    split: str


_ASTERISK = "usr/share/asterisk/sounds"
_FILLETS = "usr/share/games/fillets-ng/sound/*"
SOURCES = (
    Source("asterisk-core-sounds-en-wav", f"{_ASTERISK}/en_US_f_Allison/**/*.wav", "Allison Smith (en-US)", "CC BY-SA 3.0", "dev"),
    Source("asterisk-core-sounds-es-wav", f"{_ASTERISK}/es_MX_f_Allison/**/*.wav", "Allison Smith (es-MX)", "CC BY-SA 3.0", "dev"),
    Source("asterisk-core-sounds-fr-wav", f"{_ASTERISK}/fr_CA_f_June/**/*.wav", "June Wallack (fr-CA)", "CC BY-SA 3.0", "dev"),
    Source("asterisk-prompt-fr-armelle", f"{_ASTERISK}/fr/**/*.gsm", "Armelle Desjardins (fr-FR)", "GPL-2+", "dev"),
    Source("fillets-ng-data-nl", f"{_FILLETS}/nl/*.ogg", "Fish Fillets NG Dutch cast (nl)", "GPL-2", "dev"),
    Source("asterisk-core-sounds-it-wav", f"{_ASTERISK}/it_IT_m_Carlo/**/*.wav", "Carlo Flora (it-IT)", "CC BY-SA 3.0", "train"),
    Source("asterisk-core-sounds-ru-wav", f"{_ASTERISK}/ru_RU_f_IvrvoiceRU/**/*.wav", "ivrvoice.ru (ru-RU)", "CC BY 3.0", "train"),
    Source("asterisk-prompt-it-menardi-wav", f"{_ASTERISK}/it_IT_f_Menardi/**/*.wav", "Paola Dal Zot (it-IT)", "CC BY-SA 3.0", "train"),
    Source("asterisk-prompt-es-co", f"{_ASTERISK}/es/**/*.gsm", "es-CO prompts", "GPL-2+", "train"),
    # The English lines may share actors with the Czech cast, so they go where it goes.
    Source("fillets-ng-data-cs", f"{_FILLETS}/cs/*.ogg", "Fish Fillets NG Czech cast (cs)", "GPL-2", "train"),
    Source("fillets-ng-data", f"{_FILLETS}/en/*.ogg", "Fish Fillets NG English lines (en)", "GPL-2", "train"),
    Source("klettres-data", "usr/share/klettres/*/*/*.ogg", "KLettres speakers (22 languages)", "GPL-2+", "train"),
)
# Asterisk ships silence (silence/1.wav … 10.wav) and beeps and tones among its prompts: not speech.
_NOT_SPEECH = re.compile(r"/silence/|/(beep|beeperr)\.wav$|tone\.wav$")


def source_files(source: Source) -> list[str]:
    files = glob.glob(os.path.join(ROOT, source.pattern), recursive=True)
    return sorted(f for f in files if os.path.isfile(f) and not _NOT_SPEECH.search(f))


def dev_dirs() -> list[str]:
    """The folders the dev sources lie in (each pattern up to its first wildcard): nothing under them
    may be trained on as music either."""
    dirs = []
    for source in SOURCES:
        if source.split == "dev":
            parts = source.pattern.split("/")
            fixed = parts[: next(i for i, part in enumerate(parts) if any(c in part for c in "*?["))]
            dirs.append(os.path.join(ROOT, *fixed))
    return list(dict.fromkeys(dirs))


def _cache_path(split: str) -> str:
    return os.path.join(WORK_DIR, "real", f"debian_speech_{split}.npz")


def load(split: str):
    """The installed sources of one split at 16 kHz int16 as a ClipSet (speakers: the voices, labels: the
    packages), or None when none is installed. Cached; rebuilt when the installed files change."""
    from .real_data import ClipSet

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    files = [(source, f) for source in SOURCES if source.split == split for f in source_files(source)]
    if not files:
        return None
    names = np.array([f for _, f in files])
    cache = _cache_path(split)
    if os.path.exists(cache):
        with np.load(cache) as z:
            if np.array_equal(z["files"], names):
                return ClipSet(z["audio"], z["offsets"], z["kinds"], z["labels"], z["speakers"])
    clips, _ = decode_16k([f for _, f in files], skip_unreadable=False)  # a bad file must not shrink a split unseen
    kept = [(source, clip) for (source, _), clip in zip(files, clips) if len(clip)]  # a few files hold no audio at all
    clip_set = ClipSet.from_clips([clip for _, clip in kept], ["speech"] * len(kept),
                                  [source.package for source, _ in kept], [source.voice for source, _ in kept])
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    np.savez(cache + ".tmp.npz", audio=clip_set.audio, offsets=clip_set.offsets, kinds=clip_set.kinds,
             labels=clip_set.labels, speakers=clip_set.speakers, files=names)
    os.replace(cache + ".tmp.npz", cache)
    return clip_set


if __name__ == "__main__":
    for split in SPLITS:
        speech = load(split)
        if speech is None:
            print(f"{split}: no package installed (see this module's docstring)")
            continue
        for package in dict.fromkeys(speech.labels):
            part = speech.select(speech.labels == package)
            print(f"{split:5s} {package:32s} {len(part):5d} clips {part.hours:.3f} h  {part.speakers[0]}")
        print(f"{split:5s} {'total':32s} {len(speech):5d} clips {speech.hours:.3f} h")
