"""One command: a wake-word model from its text, end to end and offline.

    .venv/bin/python -m models.recipe.make --phrase "hey nova"

Synthesises positives and confusables (Kokoro, espeak-ng, flite), trains on them with the real
negatives of the shared data, procedural and recorded music, exports streaming ONNX, calibrates the
threshold on held-out real speech, measures everything on held-out audio, writes the model card and,
given a key, signs model and card. About 1.5 hours on 2 CPU cores; rerunning resumes from the cached synthesis.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from . import augment, hard_negatives, real_data, synthesize
from .paths import REPO_ROOT, WORK_DIR

MEMBERS = 3  # three networks side by side: steadier at low false-accept rates, still under microWakeWord's CPU (README)

DEFAULT_LIMITATIONS = """- Positives are synthetic only (Kokoro, espeak-ng, flite); real voices, children, strong accents and
  far-field speech will do worse than the synthetic recall above.
- Zero false accepts on a few hours of dev audio does not show a low rate over a day of real living-room
  audio (TV, conversation); the dev speech is mostly telephone-band WUW-II and short Precise clips.
- The threshold was calibrated on half of the dev speakers' speech; the other streams only report."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrase", required=True, help='the wake word or phrase, e.g. "computer" or "hey nova"')
    parser.add_argument("--out", help="the model file (default: models/<phrase>.onnx)")
    parser.add_argument("--version", default="0.1.0")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps-per-epoch", type=int, default=160)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the synthetic sets' sizes (0.2: a quick trial)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--members", type=int, default=MEMBERS,
                        help=f"networks to train (seeds seed, seed+1, …) and ship as one model scoring their mean "
                             f"(default {MEMBERS}: steadier at low false-accept rates than one, within the 250 KB and CPU "
                             "budgets; each network adds ~20 min of training: see the README)")
    parser.add_argument("--in-sentence-positives", action=argparse.BooleanOptionalAction, default=False,
                        help="also synthesise and train on 500 positives with the word ending a sentence "
                             "(~10 min more; fewer speech but more music false accepts, see the README)")
    parser.add_argument("--hard-negative-mining", action=argparse.BooleanOptionalAction, default=True,
                        help=f"every {hard_negatives.MINE_EVERY} epochs, train on the moments of the training negatives the model fires on "
                             "(on by default: more recall at zero false accepts for alexa; on computer's real "
                             "recordings its effect is smaller than the spread between seeds; see the README)")
    parser.add_argument("--recorded-music", action=argparse.BooleanOptionalAction, default=True,
                        help="add 1.8 h of recorded music from Debian packages (models/recipe/README.md) to the "
                             "training backgrounds (on by default: a third to a half as many music false accepts at a "
                             "fixed threshold; without the packages it warns and trains on procedural music only)")
    parser.add_argument("--tempo-changes", action=argparse.BooleanOptionalAction, default=True,
                        help=f"play {augment.TEMPO_PROB * 100:g} %% of the training words and negatives alike "
                             f"{augment.TEMPO_RANGE[0]:g}–{augment.TEMPO_RANGE[1]:g} times as fast, pitch kept (on by "
                             "default: fast, clipped words from unheard voices were what held-out recall missed; see the README)")
    parser.add_argument("--debian-speech", action=argparse.BooleanOptionalAction, default=True,
                        help="add the training split of models/recipe/debian_speech.py (4 h of real speech recorded at a "
                             "microphone, from Debian packages) to the real negatives (on by default: see the README; "
                             "without the packages it warns and trains on shared/data's speech only)")
    parser.add_argument("--limitations", help="markdown for the card's Limitations section (default: a generic one)")
    parser.add_argument("--sign-key", metavar="PEM", help="sign model and card with this Ed25519 private key")
    args = parser.parse_args()
    if args.members < 1:
        parser.error(f"--members must be at least 1, not {args.members}")  # now, not after an hour of synthesis

    wake_word = args.phrase.lower().replace(" ", "_")
    out = args.out or os.path.join("models", f"{wake_word}.onnx")
    in_sentence_flag = ["--in-sentence-positives"] if args.in_sentence_positives else []
    mining_flag = [] if args.hard_negative_mining else ["--no-hard-negative-mining"]
    music_flag = ["--recorded-music"] if args.recorded_music else []  # train's own default is off
    tempo_flag = ["--tempo-changes"] if args.tempo_changes else []  # so is this one
    debian_flag = ["--debian-speech"] if args.debian_speech else []  # and this one
    command = " ".join(["nice -n 5 .venv/bin/python -m models.recipe.make", f'--phrase "{args.phrase}"']
                       + ([f"--out {args.out}"] if args.out else [])
                       + [f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                          if k in ("version", "epochs", "steps_per_epoch", "scale", "seed", "members") and v != parser.get_default(k)]
                       + in_sentence_flag + mining_flag + ([] if args.recorded_music else ["--no-recorded-music"])
                       + ([] if args.tempo_changes else ["--no-tempo-changes"])
                       + ([] if args.debian_speech else ["--no-debian-speech"]))
    stages: dict[str, float] = {}
    started = time.time()

    real_data.ensure_cached()
    stages["real_data_s"] = time.time() - started
    synthesize.synthesise(args.phrase, args.scale, threads=2,
                          max_shards=None if args.in_sentence_positives else {"pos_context": 0})
    stages["synthesis_s"] = time.time() - started - sum(stages.values())
    from . import train  # imported late (torch is slow to import; fixes made during synthesis apply)

    train_args = train.argument_parser().parse_args([
        "--phrase", args.phrase, "--out", out, "--version", args.version, "--epochs", str(args.epochs),
        "--steps-per-epoch", str(args.steps_per_epoch), "--threads", "1", "--workers", "1", "--seed", str(args.seed), "--members", str(args.members),
        *in_sentence_flag, *mining_flag, *music_flag, *tempo_flag, *debian_flag])
    metrics = train.run(train_args)
    stages["training_and_evaluation_s"] = time.time() - started - sum(stages.values())
    metrics["recipe"] = {"command": command, **{k: round(v) for k, v in stages.items()},
                         "total_wall_s": round(time.time() - started), "cpu_count": os.cpu_count()}
    metrics_path = os.path.join(WORK_DIR, f"{wake_word}-metrics.json")
    with open(metrics_path, "w") as f:
        json.dump(metrics, f, indent=2)

    from . import model_card  # imported late: a long run picks up card fixes made while it trained

    limitations = open(args.limitations).read().strip() if args.limitations else DEFAULT_LIMITATIONS
    card = os.path.splitext(out)[0] + ".md"
    with open(card, "w") as f:
        f.write(model_card.render(out, metrics, limitations, command))
    if args.sign_key:
        import sys

        sys.path.insert(0, REPO_ROOT)
        from firmware_py import signing

        signing.sign_model(Path(out), Path(args.sign_key))
    print(f"{out}, {card}: done in {(time.time() - started) / 60:.1f} min "
          f"({', '.join(f'{k[:-2]} {v / 60:.1f} min' for k, v in stages.items())})", flush=True)


if __name__ == "__main__":
    main()
