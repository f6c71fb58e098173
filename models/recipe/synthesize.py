"""Synthesise positives and hard negatives with TTS, cached in shards under models/work/tts/<phrase>/.

Run on its own (it is slow: ~0.7 s per Kokoro clip on 2 cores) so training can start on the shards
already written:  .venv/bin/python -m models.recipe.synthesize --phrase alexa
Every clip's text, voice and speed follow from fixed seeds, so a rerun skips finished shards and an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import time
import zlib
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from . import tts
from .paths import WORK_DIR

SHARD_SIZE = 50

# Kokoro voices never used for training (pure or in blends): the synthetic dev speakers.
DEV_KOKORO_VOICES = ["af_nova", "am_puck", "bf_lily", "bm_lewis", "im_nicola"]

# Words and phrases that share sounds with the wake word; the model must stay quiet on them.
CONFUSABLES = {
    "alexa": [
        "alexander", "a lexus", "election", "Alex", "Alexis", "Alaska", "Alisa", "relax a bit", "electric",
        "Alexandra", "excel", "unless a", "Alexandria", "a letter", "Alice", "Melissa", "elixir", "Lexington",
        "Alexei", "a Lexus car", "collection", "selection", "affection", "Alessa", "Elena", "a legs up",
        "I elected", "Alex said", "Alaska is cold", "relax, Alex", "unless a lot", "the election",
        # Mistake kept so cached shards stay reproducible: it contains the wake word itself, so
        # load_clips drops it from every negative set.
        "Alexa's ahead",
    ],
    "computer": [
        "commuter", "compute", "computing", "computed", "computation", "competitor", "commuters", "a commuter",
        "can pewter", "come pewter", "compete", "company", "commute her", "compound", "composer", "recruiter",
        "computed it", "a computing class", "my commuter train", "complete", "compost", "comparison", "counter",
        "commute", "pewter", "the compiler", "come to her", "cute", "Cooper", "a company car",
    ],
}
# Ordinary sentences, so the synthetic voices themselves are not a cue for "wake word".
SENTENCES = [
    "What time is it?", "Turn on the lights in the kitchen.", "I'll be there in ten minutes.",
    "Can you pass me the salt, please?", "The weather is nice today.", "Let's go for a walk after dinner.",
    "Did you remember to lock the door?", "She left the keys on the table.", "Play some music, please.",
    "How far is it to the station?", "We need more milk and some bread.", "My phone battery is almost empty.",
    "The meeting starts at nine tomorrow.", "Could you call me back later?", "I think it's going to rain.",
    "Set a timer for five minutes.", "He is reading a book about history.", "Open the window, it's warm in here.",
    "Where did I put my glasses?", "Thanks, that was really helpful.", "The children are playing outside.",
    "Please send the report by Friday.", "What's on the news this morning?", "Turn the volume down a little.",
    "I'd like a cup of coffee.", "The train was late again.", "Remind me to buy flowers.",
    "Good morning, how did you sleep?", "That restaurant closes early on Sundays.", "Hello, is anybody home?",
]


def positive_texts(phrase: str) -> list[str]:
    """The wake word alone (with varied punctuation = varied prosody) or after a short lead-in.

    The word always ends the text, so its end is the end of the trimmed audio: that is where the
    training labels put the detection. Kokoro gives no word timings, hence no trailing carriers.
    """
    word = phrase.capitalize()
    alone = [word, f"{word}.", f"{word}!", f"{word}?", f"{phrase}", f"{word}..."]
    lead_in = [f"Hey {word}.", f"Okay {word}!", f"Um, {word}?", f"So, {word}.", f"Oh {word}!"]
    return alone * 2 + lead_in


# Real callers say the wake word inside a sentence too ("... it's called Voyager"), run together with
# the words before it; a clip-level splice (augment.WindowMaker.positive) cannot make that coarticulation.
CONTEXT_LEAD_INS = [
    "I think it's called", "and then I said", "let me try this again,", "can you hear me,", "excuse me,",
    "good morning,", "hello there,", "listen,", "wait a second,", "one more time,", "the word is",
    "please wake up,", "alright then,", "are you there,", "I need to make a call,", "time to talk to",
    "here we go,", "the name is", "you know what,", "well,", "now I'm going to say", "okay, so,",
    "I'm home,", "sorry to bother you,", "this one is for", "it's me again,",
]


def context_texts(phrase: str) -> list[str]:
    """The wake word at the end of a short sentence, with and without a pause before it."""
    word = phrase.capitalize()
    return [f"{lead} {word}{end}" for lead in CONTEXT_LEAD_INS for end in (".", "!", "?", "")]


@dataclass(frozen=True)
class ClipSpec:
    text: str
    engine: str  # "kokoro" | "espeak" | "flite"
    voice: str  # a name, or a blend "a:0.6+b:0.4"
    speed: float
    lang: str
    pitch: int = 50


def _rng(phrase: str, set_name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{phrase}/{set_name}".encode()))


def _kokoro_specs(rng, texts, voice_names, count, blend_prob) -> list[ClipSpec]:
    specs = []
    for _ in range(count):
        if rng.random() < blend_prob:
            # A convex blend of 2–3 voices is a new speaker.
            names = rng.choice(voice_names, size=int(rng.integers(2, 4)), replace=False)
            weights = rng.dirichlet(np.ones(len(names)))
            voice = "+".join(f"{n}:{w:.3f}" for n, w in zip(names, weights))
            lang = tts.kokoro_lang(names[int(np.argmax(weights))])
        else:
            voice = str(rng.choice(voice_names))
            lang = tts.kokoro_lang(voice)
        specs.append(ClipSpec(str(rng.choice(texts)), "kokoro", voice, round(float(rng.uniform(0.8, 1.25)), 3), lang))
    return specs


def _robot_specs(rng, texts, count) -> list[ClipSpec]:
    specs = []
    for _ in range(count):
        text = str(rng.choice(texts))
        if rng.random() < 0.7:
            voice = str(rng.choice(tts.ESPEAK_DIALECTS)) + str(rng.choice(tts.ESPEAK_VARIANTS))
            specs.append(ClipSpec(text, "espeak", voice, float(rng.integers(120, 200)), "", int(rng.integers(25, 80))))
        else:
            specs.append(ClipSpec(text, "flite", str(rng.choice(tts.FLITE_VOICES)), round(float(rng.uniform(0.8, 1.3)), 2), ""))
    return specs


def clip_sets(phrase: str, voices: dict[str, np.ndarray], scale: float = 1.0) -> dict[str, list[ClipSpec]]:
    """All synthetic sets, in the order they are synthesised (dev first: evaluation needs them)."""
    english = tts.english_kokoro_voices(voices)
    train_voices = [v for v in english if v not in DEV_KOKORO_VOICES]
    positives = positive_texts(phrase)
    confusables = CONFUSABLES.get(phrase.lower(), [])
    negatives = confusables * 3 + SENTENCES if confusables else SENTENCES
    n = lambda count: max(SHARD_SIZE, int(round(count * scale / SHARD_SIZE)) * SHARD_SIZE)  # noqa: E731
    return {
        "pos_robot": _robot_specs(_rng(phrase, "pos_robot"), positives, n(400)),
        "neg_robot": _robot_specs(_rng(phrase, "neg_robot"), negatives, n(400)),
        "pos_dev": _kokoro_specs(_rng(phrase, "pos_dev"), positives, DEV_KOKORO_VOICES, n(150), blend_prob=0.0),
        "neg_dev": _kokoro_specs(_rng(phrase, "neg_dev"), negatives, DEV_KOKORO_VOICES, n(100), blend_prob=0.0),
        "pos_train": _kokoro_specs(_rng(phrase, "pos_train"), positives, train_voices, n(1100), blend_prob=0.5),
        "neg_train": _kokoro_specs(_rng(phrase, "neg_train"), negatives, train_voices, n(400), blend_prob=0.5),
        "pos_context": _kokoro_specs(_rng(phrase, "pos_context"), context_texts(phrase), train_voices, n(500),
                                     blend_prob=0.5),
    }


def training_positive_sets(in_sentence: bool = False) -> tuple[str, ...]:
    """The synthetic sets a model learns the word from; pos_dev is only ever measured."""
    return ("pos_train", "pos_context", "pos_robot") if in_sentence else ("pos_train", "pos_robot")


def shard_dir(phrase: str) -> str:
    return os.path.join(WORK_DIR, "tts", phrase.lower().replace(" ", "_"))


def save_shard(path: str, clips: list[np.ndarray], specs: list[ClipSpec]) -> None:
    offsets = np.cumsum([0] + [len(c) for c in clips]).astype(np.int64)
    meta = np.array([json.dumps(s.__dict__) for s in specs])
    np.savez(path + ".tmp.npz", audio=np.concatenate(clips), offsets=offsets, meta=meta)
    os.replace(path + ".tmp.npz", path)  # atomic: a reader never sees half a shard


def load_clips(phrase: str, set_name: str, with_text: bool = False, with_spec: bool = False) -> list:
    """All finished clips of one set (whatever shards exist so far); optionally as (clip, text) or (clip, spec dict) pairs.

    A negative set never yields a clip whose text contains the wake word.
    """
    clips = []
    for path in sorted(glob.glob(os.path.join(shard_dir(phrase), f"{set_name}_*.npz"))):
        if path.endswith(".tmp.npz"):
            continue
        with np.load(path) as shard:
            audio, offsets = shard["audio"], shard["offsets"]
            specs = [json.loads(m) for m in shard["meta"]]
        for a, b, spec in zip(offsets[:-1], offsets[1:], specs):
            text = spec["text"]
            if b - a <= 1600:  # under 0.1 s: a failed synthesis
                continue
            if set_name.startswith("neg") and re.search(rf"\b{re.escape(phrase)}\b", text, re.IGNORECASE):
                continue
            clips.append((audio[a:b], text) if with_text else (audio[a:b], spec) if with_spec else audio[a:b])
    return clips


def _voice_vector(spec: ClipSpec, voices: dict[str, np.ndarray]) -> np.ndarray:
    parts = [p.split(":") for p in spec.voice.split("+")]
    if len(parts) == 1 and len(parts[0]) == 1:
        return voices[spec.voice]
    return sum(float(w) * voices[name] for name, w in parts)


def synthesise(phrase: str, scale: float, threads: int, max_shards: dict[str, int] | None = None) -> None:
    voices = tts.load_kokoro_voices()
    sets = clip_sets(phrase, voices, scale)
    out_dir = shard_dir(phrase)
    os.makedirs(out_dir, exist_ok=True)
    # Dev and robotic sets first, then Kokoro train positives and negatives interleaved, so that a
    # partial run already gives a balanced training set.
    order = []
    for name in ["pos_robot", "neg_robot", "pos_dev", "neg_dev"]:
        order += [(name, i) for i in range(0, len(sets[name]), SHARD_SIZE)]
    pos_shards = [("pos_train", i) for i in range(0, len(sets["pos_train"]), SHARD_SIZE)]
    neg_shards = [("neg_train", i) for i in range(0, len(sets["neg_train"]), SHARD_SIZE)]
    ratio = len(pos_shards) / max(1, len(neg_shards))
    merged = sorted(pos_shards + neg_shards, key=lambda s: s[1] / SHARD_SIZE / (ratio if s[0] == "pos_train" else 1))
    order += merged
    order += [("pos_context", i) for i in range(0, len(sets["pos_context"]), SHARD_SIZE)]

    kokoro = None
    started = time.time()
    todo = [(name, start) for name, start in order
            if not os.path.exists(os.path.join(out_dir, f"{name}_{start // SHARD_SIZE:03d}.npz"))
            and start // SHARD_SIZE < (max_shards or {}).get(name, 10**6)]
    for name, start in tqdm(todo, desc=f"synthesising '{phrase}'", unit="shard"):
        path = os.path.join(out_dir, f"{name}_{start // SHARD_SIZE:03d}.npz")
        specs = sets[name][start : start + SHARD_SIZE]
        clips = []
        for spec in specs:
            if spec.engine == "kokoro":
                kokoro = kokoro or tts.KokoroTTS(threads=threads)
                clips.append(kokoro.speak(spec.text, _voice_vector(spec, voices), spec.speed, spec.lang))
            elif spec.engine == "espeak":
                clips.append(tts.espeak(spec.text, spec.voice, int(spec.speed), spec.pitch))
            else:
                clips.append(tts.flite(spec.text, spec.voice, spec.speed))
        save_shard(path, clips, specs)
        tqdm.write(f"[{time.time() - started:7.1f} s] {os.path.basename(path)}")
    print(f"synthesis done in {time.time() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrase", default="alexa")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every set's size (for quick trials)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-shards", action="append", default=[], metavar="SET=N",
                        help="synthesise only the first N shards of SET (e.g. pos_train=16), for a shorter run")
    args = parser.parse_args()
    limits = {name: int(n) for name, n in (item.split("=") for item in args.max_shards)}
    synthesise(args.phrase, args.scale, args.threads, limits)


if __name__ == "__main__":
    main()
