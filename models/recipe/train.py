"""Train, calibrate, export and evaluate a wake-word model.

    .venv/bin/python -m models.recipe.train --phrase alexa --out models/alexa.onnx

Synthesis (models.recipe.synthesize) should have run first; training uses whatever shards exist.
Writes the ONNX file, a checkpoint and a metrics JSON next to it in models/work/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter

import numpy as np
import torch
from torch.nn import functional as F

from tqdm import tqdm

from . import augment, debian_speech, evaluate, hard_negatives, music, real_data, synthesize
from .dataset import FEATURES, ExampleMaker, Pools
from .export import export_onnx, open_session, verify
from .hard_negatives import HARD_POOL, MINE_EVERY, MINE_LIMIT, MINE_MIN_SCORE
from .model import CHANNELS, WakeWordTCN, frame_probabilities
from .paths import MUSIC_DIR, TRAINING_MUSIC_DIRS, WORK_DIR

WINDOW_S = 2.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def recorded_music() -> tuple[list[np.ndarray], list[str]]:
    pieces, files = music.recorded_training_music(TRAINING_MUSIC_DIRS, [MUSIC_DIR, *debian_speech.dev_dirs()],
                                                 os.path.join(WORK_DIR, "real", "music_train.npz"))
    if not pieces:
        log(f"warning: no recorded training music in {TRAINING_MUSIC_DIRS} (see models/recipe/README.md): "
            "the backgrounds will have procedural music only")
    return pieces, files


def load_pools(phrase: str, train: real_data.ClipSet, seed: int, in_sentence: bool = False,
               recorded_music: list[np.ndarray] = (), more_speech: real_data.ClipSet | None = None) -> Pools:
    # Real recordings of the phrase itself are neither positives nor negatives in training.
    speech = train.select((train.kinds != "noise") & ~real_data.says_phrase(train.labels, phrase))
    noise = train.select(train.kinds == "noise")
    return Pools(
        positives=[clip for name in synthesize.training_positive_sets(in_sentence)
                   for clip in synthesize.load_clips(phrase, name)],
        tts_negatives=synthesize.load_clips(phrase, "neg_train") + synthesize.load_clips(phrase, "neg_robot"),
        real_speech=speech.clips() + (more_speech.clips() if more_speech is not None else []),
        noises=noise.clips() + music.training_music(seed) + list(recorded_music),
    )


def window_loss(logits, targets, weights, is_positive) -> torch.Tensor:
    """Per-frame BCE on labelled frames, plus BCE on each window's highest labelled score.

    The max term is what matters at run time: a negative window fails if any frame fires, and a
    positive window succeeds if one frame near the word's end does.
    """
    frame = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    frame = (frame * weights).sum(1) / weights.sum(1).clamp(min=1)
    peak = logits.masked_fill(weights == 0, -1e4).max(dim=1).values
    peak_loss = F.binary_cross_entropy_with_logits(peak, is_positive.float(), reduction="none")
    return (frame + peak_loss).mean()


def feature_statistics(maker: ExampleMaker, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    features = maker.batch(n)[0]
    features = features.reshape(-1, features.shape[-1])
    return features.mean(0), features.std(0) + 1e-3


class BatchStream(torch.utils.data.IterableDataset):
    """Endless augmented batches; with a DataLoader worker they are made while the main process trains."""

    def __init__(self, maker: ExampleMaker, batch_size: int):
        self.maker, self.batch_size = maker, batch_size

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is not None:  # each worker its own augmentation stream, still reproducible
            self.maker.reseed(self.maker.seed + 1000 * (info.id + 1))
        while True:
            yield tuple(torch.from_numpy(a) for a in self.maker.batch(self.batch_size))


def mine(model: WakeWordTCN, maker: ExampleMaker, miner: hard_negatives.Miner) -> None:
    model.eval()
    mined = miner.mine(lambda features: frame_probabilities(model, features), MINE_MIN_SCORE, MINE_LIMIT)
    model.train()
    maker.pools.hard_negatives = hard_negatives.merge(maker.pools.hard_negatives, mined, HARD_POOL)
    firing = sum(h.score >= 0.5 for h in mined)
    log(f"hard negatives: {len(mined)} mined at ≥ {MINE_MIN_SCORE} ({firing} ≥ 0.5, "
        f"{firing / miner.hours:.1f}/h of training negatives), pool {len(maker.pools.hard_negatives)}")


def load_weights(path: str) -> WakeWordTCN:
    """Weights saved by train_model, in a network of their own width (normalisation constants included)."""
    state = torch.load(path)
    model = WakeWordTCN(channels=int(state["conv_in.conv.weight"].shape[0]))
    model.load_state_dict(state)
    return model


def saved_training(checkpoints: list[str]) -> dict:
    """Windows seen and the last mined pool's size, from the metrics that saved networks' own runs wrote beside them.

    Zero where a run's metrics are missing, as for any re-export before there were such files.
    """
    runs = []
    for path in checkpoints:
        try:
            with open(path.removesuffix(".pt") + "-metrics.json") as f:
                runs.append(json.load(f)["training_data"])
        except (OSError, ValueError, KeyError):
            return {"windows_seen": 0, "hard_negatives_mined": 0}
    return {"windows_seen": sum(r["windows_seen"] for r in runs), "hard_negatives_mined": runs[-1]["hard_negatives_mined"]}


def train_model(maker: ExampleMaker, epochs: int, steps_per_epoch: int, batch_size: int, lr: float,
                workers: int, init: str | None = None, miner: hard_negatives.Miner | None = None,
                channels: int = CHANNELS) -> WakeWordTCN:
    if init:  # continue from earlier weights (their width, their normalisation constants)
        model = load_weights(init)
    else:
        model = WakeWordTCN(channels=channels)
        mean, std = feature_statistics(maker)
        model.feature_mean.copy_(torch.from_numpy(mean))
        model.feature_std.copy_(torch.from_numpy(std))
    log(f"model: {sum(p.numel() for p in model.parameters())} parameters, receptive field {model.receptive_field} frames")
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    total = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=total, pct_start=0.1)

    def stream():  # a worker forks the maker as it is now: restarted, it sees newly mined negatives
        return iter(torch.utils.data.DataLoader(BatchStream(maker, batch_size), batch_size=None, num_workers=workers))

    batches = stream()
    for epoch in range(epochs):
        model.train()
        losses, started = [], time.time()
        for _ in tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False):
            features, targets, weights, is_positive = next(batches)
            loss = window_loss(model(features), targets, weights, is_positive)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        log(f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f} ({time.time() - started:.0f} s)")
        # Kept every epoch, so an interrupted run still leaves weights for --from-checkpoint.
        torch.save(model.state_dict(), os.path.join(WORK_DIR, "last-epoch.pt"))
        if miner is not None and (epoch + 1) % MINE_EVERY == 0 and epoch + 1 < epochs:
            mine(model, maker, miner)
            maker.seed += 7919  # the new worker must not replay the old one's augmentation stream
            batches = stream()
    return model.eval()


def evaluate_model(path: str, phrase: str, train: real_data.ClipSet, dev: real_data.ClipSet,
                   threshold: float | None) -> dict:
    """Calibrate (when `threshold` is None) on half the dev speakers, then measure everything at that threshold."""
    session = open_session(path)
    speech = dev.select((dev.kinds != "noise") & ~real_data.says_phrase(dev.labels, phrase))
    calibrate = evaluate.calibration_half(speech.speakers)
    streams = {
        "dev_speech_calibration": evaluate.NegativeStream(session, speech.select(calibrate), "dev speech, calibration half"),
        "dev_speech_heldout": evaluate.NegativeStream(session, speech.select(~calibrate), "dev speech, held-out half"),
        "dev_noise": evaluate.NegativeStream(session, dev.select(dev.kinds == "noise"), "dev noise + room tone"),
    }
    debian_dev = debian_speech.load("dev")  # never trained on, and not calibrated on either
    if debian_dev is not None:
        streams["dev_speech_debian"] = evaluate.NegativeStream(session, debian_dev, debian_speech.DEV_STREAM)
    dev_music = real_data.load_dev_music()
    if dev_music is not None:
        streams["dev_music"] = evaluate.NegativeStream(session, dev_music, "music (wesnoth-1.16-music, all of it)")
    if threshold is None:
        threshold = evaluate.pick_threshold(streams["dev_speech_calibration"].scores)
    dev_noise_audio = dev.select(dev.kinds == "noise").audio
    positives_with_spec = synthesize.load_clips(phrase, "pos_dev", with_spec=True)
    positives = [clip for clip, _ in positives_with_spec]
    clean = evaluate.positive_peak_scores(session, positives, None, 0.0)
    noisy = evaluate.positive_peak_scores(session, positives, dev_noise_audio, 10.0)
    phone = evaluate.positive_peak_scores(session, [evaluate.phone_line(clip) for clip in positives], None, 0.0)
    confusable_clips = synthesize.load_clips(phrase, "neg_dev", with_text=True)
    confusables = evaluate.clip_peak_scores(session, [clip for clip, _ in confusable_clips])
    accepted_texts: dict[str, str] = {}
    for (_, text), peak in zip(confusable_clips, confusables):
        hits, total = (int(x) for x in accepted_texts.get(text, "0/0").split("/"))
        accepted_texts[text] = f"{hits + int(peak >= threshold)}/{total + 1}"
    # Both splits, none ever trained on; but a train-split caller's other words are training negatives,
    # so only dev-split callers are voices the model has never heard at all.
    unheard, heard = real_data.phrase_recordings(phrase, dev), real_data.phrase_recordings(phrase, train)
    recordings = unheard + heard
    speaker_split = np.array(["dev"] * len(unheard) + ["train"] * len(heard))
    real = [clip for clip, _, _ in recordings]
    real_labels = dict(Counter(f"{label} ({speaker})" for _, label, speaker in recordings))
    real_clean = evaluate.positive_peak_scores(session, real, None, 0.0) if real else np.zeros(0)
    real_noisy = evaluate.positive_peak_scores(session, real, dev_noise_audio, 10.0) if real else np.zeros(0)
    real_phone = (evaluate.positive_peak_scores(session, [evaluate.phone_line(clip) for clip in real], None, 0.0)
                  if real else np.zeros(0))
    rate = lambda peaks, t: round(float(np.mean(peaks >= t)), 4) if len(peaks) else None  # noqa: E731
    by_split = lambda peaks, t: {split: rate(peaks[speaker_split == split], t) for split in ("dev", "train")}  # noqa: E731
    grid = sorted({0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, round(threshold, 4)})
    return {
        "threshold": round(threshold, 4),
        "dev_positives": len(positives),
        "dev_voices": synthesize.DEV_KOKORO_VOICES,
        "recall_clean": round(float(np.mean(clean >= threshold)), 4),
        "recall_noise_10db": round(float(np.mean(noisy >= threshold)), 4),
        "recall_phone_line": round(float(np.mean(phone >= threshold)), 4),
        "recall_clean_by_voice": {
            voice: round(float(np.mean([p >= threshold for p, (_, spec) in zip(clean, positives_with_spec) if spec["voice"] == voice])), 4)
            for voice in sorted({spec["voice"] for _, spec in positives_with_spec})
        },
        "real_positives": len(real),
        "real_positive_labels": real_labels,
        "recall_real_clean": rate(real_clean, threshold),
        "recall_real_noise_10db": rate(real_noisy, threshold),
        "recall_real_phone_line": rate(real_phone, threshold),
        "real_positives_by_speaker_split": {"dev": len(unheard), "train": len(heard)},
        "recall_real_clean_by_speaker_split": by_split(real_clean, threshold),
        "recall_real_noise_10db_by_speaker_split": by_split(real_noisy, threshold),
        "tts_confusables_dev": len(confusables),
        "tts_confusable_accept_rate": round(float(np.mean(confusables >= threshold)), 4),
        "tts_confusables_accepted_by_text": dict(sorted(accepted_texts.items())),
        "negative_streams": [s.false_accepts(threshold) for s in streams.values()],
        "max_score_calibration_stream": round(float(streams["dev_speech_calibration"].scores.max()), 4),
        "sweep": [
            {"threshold": t, "recall_clean": round(float(np.mean(clean >= t)), 4),
             "recall_noise_10db": round(float(np.mean(noisy >= t)), 4),
             "recall_phone_line": round(float(np.mean(phone >= t)), 4),
             "confusable_accept_rate": round(float(np.mean(confusables >= t)), 4),
             "fa_speech": sum(len(evaluate.detections(stream.scores, t)) for k, stream in streams.items() if k.startswith("dev_speech")),
             "fa_noise": len(evaluate.detections(streams["dev_noise"].scores, t)),
             "fa_music": len(evaluate.detections(streams["dev_music"].scores, t)) if "dev_music" in streams else None,
             "recall_real_clean": rate(real_clean, t), "recall_real_noise_10db": rate(real_noisy, t),
             "recall_real_clean_dev_speakers": by_split(real_clean, t)["dev"]}
            for t in grid
        ],
    }


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train a wakegate wake-word model")
    parser.add_argument("--phrase", default="alexa")
    parser.add_argument("--out", default="models/alexa.onnx")
    parser.add_argument("--version", default="0.1.0")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--steps-per-epoch", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="data-making processes beside the trainer (0: none)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--init-checkpoint", metavar="PT", help="start training from these weights (fine-tuning)")
    parser.add_argument("--from-checkpoint", metavar="PT", nargs="+",
                        help="skip training: load these weights (a .pt from models/work; several: an ensemble of them)")
    parser.add_argument("--members", type=positive_int, default=1,
                        help="train this many networks (seeds seed, seed+1, …) and ship their mean as one model")
    parser.add_argument("--threshold", type=float, default=None, help="skip calibration and use this threshold")
    parser.add_argument("--metrics", metavar="JSON", help="where to write the metrics; the weights go beside it "
                        "(default: models/work/<phrase>-metrics.json and <phrase>.pt)")
    parser.add_argument("--in-sentence-positives", action=argparse.BooleanOptionalAction, default=False,
                        help="train on the positives with the word ending a sentence too (set pos_context)")
    parser.add_argument("--hard-negative-mining", action=argparse.BooleanOptionalAction, default=True,
                        help=f"every {MINE_EVERY} epochs, add the training negatives the model fires on to a pool of their own")
    parser.add_argument("--recorded-music", action=argparse.BooleanOptionalAction, default=False,
                        help="add recorded music (paths.TRAINING_MUSIC_DIRS, never the held-out music) to the backgrounds")
    parser.add_argument("--debian-speech", action=argparse.BooleanOptionalAction, default=False,
                        help="add the training split of models/recipe/debian_speech.py (4 h of real speech recorded "
                             "at a microphone) to the real negatives")
    parser.add_argument("--channels", type=int, default=CHANNELS, help="the network's width")
    parser.add_argument("--tempo-changes", action=argparse.BooleanOptionalAction, default=False,
                        help=f"play {augment.TEMPO_PROB * 100:g} %% of positives and negatives alike {augment.TEMPO_RANGE[0]:g}–"
                             f"{augment.TEMPO_RANGE[1]:g} times as fast, pitch kept")
    return parser


def run(args: argparse.Namespace) -> dict:
    """Train (or load), export, calibrate, verify and evaluate; returns the metrics also written to JSON."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    wake_word = args.phrase.lower().replace(" ", "_")
    metrics_path = args.metrics or os.path.join(WORK_DIR, f"{wake_word}-metrics.json")
    weights_path = metrics_path.removesuffix(".json").removesuffix("-metrics") + ".pt"
    started = time.time()

    train_split, dev_split = real_data.load_split("train"), real_data.load_split("dev")
    recorded, recorded_files = recorded_music() if args.recorded_music else ([], [])
    debian_train = debian_speech.load("train") if args.debian_speech else None
    if args.debian_speech and debian_train is None:
        log("warning: no Debian speech package installed (models/recipe/debian_speech.py): "
            "the real negatives are shared/data's only")

    def examples(seed: int) -> tuple[Pools, ExampleMaker]:
        torch.manual_seed(seed)  # again per network: network i trains as a one-network run with its seed would
        pools = load_pools(args.phrase, train_split, seed, args.in_sentence_positives, recorded, debian_train)
        log(f"pools: {len(pools.positives)} positives, {len(pools.tts_negatives)} TTS negatives, "
            f"{len(pools.real_speech)} real speech clips, {len(pools.noises)} noise clips")
        return pools, ExampleMaker(pools, WINDOW_S, seed, args.tempo_changes)

    checkpoints = args.from_checkpoint or []
    members, member_weights, seeds = [], [], []
    if checkpoints:  # re-export and re-evaluate trained weights
        pools, maker = examples(args.seed)
        members, member_weights = [load_weights(path).eval() for path in checkpoints], list(checkpoints)
    else:
        seeds = [args.seed + i for i in range(args.members)]
    for seed in seeds:
        pools, maker = examples(seed)
        if len(seeds) > 1:
            log(f"network {len(members) + 1} of {len(seeds)} (seed {seed})")
        miner = None
        if args.hard_negative_mining:
            miner = hard_negatives.Miner([np.concatenate(pools.real_speech), np.concatenate(pools.noises)],
                                         FEATURES, WakeWordTCN().receptive_field)
            log(f"hard-negative mining over {miner.hours:.2f} h of training negatives")
        model = train_model(maker, args.epochs, args.steps_per_epoch, args.batch_size, args.lr, args.workers,
                            args.init_checkpoint, miner, args.channels)
        path = weights_path if len(seeds) == 1 else weights_path.removesuffix(".pt") + f"-seed{seed}.pt"
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        torch.save(model.state_dict(), path)
        members.append(model)
        member_weights.append(path)
    args.channels = members[0].conv_in.conv.out_channels  # saved weights fix the width, whatever --channels said
    train_s = time.time() - started

    # Export once with a placeholder threshold, calibrate on the exported file itself, then re-export.
    export_onnx(members, args.out, wake_word, args.version, threshold=0.5)
    metrics = evaluate_model(args.out, args.phrase, train_split, dev_split, args.threshold)
    export_onnx(members, args.out, wake_word, args.version, threshold=metrics["threshold"])
    # Several windows back to back: longer than the receptive field, so carried state is exercised.
    check = verify(members, args.out, maker.batch(4)[0].reshape(-1, members[0].conv_in.conv.in_channels))
    recorded_noise = train_split.select(train_split.kinds == "noise")  # the background that is not music
    recorded_music_summary = ({"recorded_music_hours": round(sum(len(p) for p in recorded) / 16000 / 3600, 3),
                               "recorded_music_files": recorded_files} if args.recorded_music else {})
    metrics["training_data"] = {
        "kokoro_positives": len(synthesize.load_clips(args.phrase, "pos_train")),
        "kokoro_in_sentence_positives": (len(synthesize.load_clips(args.phrase, "pos_context"))
                                         if args.in_sentence_positives else 0),
        "espeak_flite_positives": len(synthesize.load_clips(args.phrase, "pos_robot")),
        "kokoro_negatives": len(synthesize.load_clips(args.phrase, "neg_train")),
        "espeak_flite_negatives": len(synthesize.load_clips(args.phrase, "neg_robot")),
        "real_speech_clips": len(pools.real_speech),
        "real_speech_hours": round(sum(len(c) for c in pools.real_speech) / 16000 / 3600, 3),
        "noise_clips": len(pools.noises),  # every background clip, music pieces included
        "noise_hours": round(sum(len(c) for c in pools.noises) / 16000 / 3600, 3),
        "recorded_noise_clips": len(recorded_noise),
        "recorded_noise_hours": round(recorded_noise.hours, 3),
        "procedural_music_hours": round(music.PIECES * music.PIECE_S / 3600, 3),
        **recorded_music_summary,
        **({"debian_speech_clips": len(debian_train), "debian_speech_hours": round(debian_train.hours, 3),
            "debian_speech_packages": sorted(set(debian_train.labels))} if debian_train is not None else {}),
        **(saved_training(checkpoints) if checkpoints else {
            "windows_seen": len(members) * args.epochs * args.steps_per_epoch * args.batch_size,
            "hard_negatives_mined": len(pools.hard_negatives)}),  # a --members run: the last network's pool
        "microphone_responses": True,  # augment.microphone_response and soft_clip (older models: absent)
        "simulated_rooms": len(maker.windows.rooms),
        "vocal_tract_shift": True,  # augment.vocal_tract_shift (older models: absent)
        **({"tempo_change": {"share": augment.TEMPO_PROB, "factors": list(augment.TEMPO_RANGE)}} if args.tempo_changes else {}),
    }
    metrics.update({"verify": check, "train_wall_s": round(train_s), "total_wall_s": round(time.time() - started),
                    "args": vars(args), "parameters": sum(p.numel() for m in members for p in m.parameters())})
    if len(members) > 1:
        metrics["ensemble"] = {"networks": len(members), "weights": member_weights,
                               "seeds": seeds or None, "weights_stored_as": "float16"}
    with open(metrics_path, "w") as f:
        json.dump(metrics, f, indent=2)
    log(json.dumps({k: v for k, v in metrics.items() if k != "sweep"}, indent=1))
    for row in metrics["sweep"]:
        log(str(row))
    return metrics


def main() -> None:
    run(argument_parser().parse_args())


if __name__ == "__main__":
    main()
