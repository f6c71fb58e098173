"""Write models/<word>.md from the exported file and the metrics JSON that train.py left in models/work/.

    .venv/bin/python -m models.recipe.model_card --onnx models/alexa.onnx
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import onnx

from .attributions import markdown as esc10_attributions
from .dataset import ExampleMaker
from .debian_speech import DEV_STREAM as DEBIAN_DEV_STREAM
from .hard_negatives import MINE_EVERY
from .model import CHANNELS, DILATIONS, KERNEL
from .paths import WORK_DIR
from .synthesize import CONFUSABLES

TRAIN_COMMANDS = """nice -n 5 .venv/bin/python -m models.recipe.synthesize --phrase {phrase}
nice -n 5 .venv/bin/python -m models.recipe.train --phrase {phrase} --out {onnx} {train_args}"""


def _fa_rows(streams: list[dict]) -> str:
    rows = []
    for s in streams:
        items = list(s["wake_word_clips_by_label"].items())
        labels = ", ".join(f"{k} {v}" for k, v in items[:12]) + (f", … ({len(items)} labels)" if len(items) > 12 else "") or "–"
        hits = ", ".join(f"{k}: {v}" for k, v in s["by_label"].items()) or "none"
        rows.append(f"| {s['stream']} | {s['hours']:.3f} | {s['clips']} | {s['false_accepts']} | {s['fa_per_hour']:.2f} | {hits} | {labels} |")
    return "\n".join(rows)


def _fmt(value, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def _sweep_rows(sweep: list[dict]) -> str:
    return "\n".join(
        f"| {r['threshold']:.4g} | {r['recall_clean']:.3f} | {r['recall_noise_10db']:.3f} "
        f"| {_fmt(r.get('recall_real_clean'))} | {_fmt(r.get('recall_real_noise_10db'))} "
        f"| {_fmt(r.get('recall_real_clean_dev_speakers'))} | {r['confusable_accept_rate']:.3f} "
        f"| {r['fa_speech']} | {_fmt(r.get('fa_music'), 'd')} | {r['fa_noise']} |"
        for r in sorted(sweep, key=lambda r: r["threshold"])
    )


def _real_positive_text(metrics: dict, phrase: str) -> str:
    if not metrics.get("real_positives"):
        return f'no real recording of "{phrase}" was available'
    return (f'the {metrics["real_positives"]} real recordings of "{phrase}" in the shared data were held out of '
            "training (neither positives nor negatives) and are the real-voice test below")


def _debian_speech_text(streams: list[dict]) -> str:
    """Where the Debian speech stream comes from; older metrics files do not have it."""
    if not any(s["stream"] == DEBIAN_DEV_STREAM for s in streams):
        return ""
    return ("\n\"Dev speech, Debian packages\" is the dev split of `models/recipe/debian_speech.py`, voices never "
            "trained on: Asterisk's telephone prompts by Allison Smith (English, Spanish) and June Wallack (French; "
            "CC BY-SA 3.0), Armelle Desjardins' French prompts (GPL-2+) and the Dutch cast of Fish Fillets NG (GPL-2).")


def _phone_line_row(metrics: dict, key: str, condition: str) -> str:
    """A recall row for the phone-line condition; older metrics files do not have it."""
    return "" if metrics.get(key) is None else f"| {condition} | {metrics[key]:.3f} |\n"


def _real_recall_rows(metrics: dict) -> str:
    if not metrics.get("real_positives"):
        return ""
    labels = metrics["real_positive_labels"]  # "label (speaker)" -> clips
    who = (", ".join(f"{k}: {v}" for k, v in labels.items()) if len(labels) <= 6
           else f"{len(labels)} label/speaker pairs, e.g. " + ", ".join(f"{k}: {v}" for k, v in list(labels.items())[:3]))
    rows = (f"| real recordings, clean ({metrics['real_positives']} clips: {who}) | {metrics['recall_real_clean']:.3f} |\n"
            f"| real recordings, dev noise at 10 dB SNR | {metrics['recall_real_noise_10db']:.3f} |\n"
            + _phone_line_row(metrics, "recall_real_phone_line", "real recordings through a phone line, clean"))
    unheard = metrics.get("real_positives_by_speaker_split", {}).get("dev")
    if unheard:  # older metrics files do not have the split
        clean, noisy = (metrics[f"recall_real_{c}_by_speaker_split"]["dev"] for c in ("clean", "noise_10db"))
        rows += (f"| real recordings of dev-split speakers only ({unheard} clips; nothing of these voices was "
                 f"trained on), clean / 10 dB SNR | {clean:.3f} / {noisy:.3f} |\n")
    return rows


def _in_sentence_text(data: dict) -> str:
    if not data.get("kokoro_in_sentence_positives"):  # older recipes had none
        return ""
    return (f", {data['kokoro_in_sentence_positives']} more with the word ending a short sentence, run together "
            'with the words before it ("I think it\'s called …", "can you hear me, …"; `CONTEXT_LEAD_INS`)')


def _debian_training_text(data: dict) -> str:
    if not data.get("debian_speech_hours"):  # older recipes, or train without --debian-speech
        return ""
    return (f"; of these, {data['debian_speech_clips']} clips ({data['debian_speech_hours']} h) are the training split of "
            "`models/recipe/debian_speech.py`, speech recorded at a microphone from Debian packages: Asterisk prompts "
            "(Italian by Carlo Flora and Paola Dal Zot, Russian, Colombian Spanish), the Czech cast and English lines "
            "of Fish Fillets NG, and KLettres' letters and syllables in 22 languages")


def _hard_negative_text(data: dict) -> str:
    if not data.get("hard_negatives_mined"):  # older recipes, or --no-hard-negative-mining
        return ""
    return (f"; every {MINE_EVERY} epochs the model in training scored them and the background below as continuous "
            f"streams, and the moments it scored highest ({data['hard_negatives_mined']} in the last pool) made up "
            f"{ExampleMaker.MIX['hard_negative'] * 100:g} % of the training windows (hard-negative mining, "
            "`models/recipe/hard_negatives.py`)")


def _background_text(data: dict) -> str:
    procedural = (f"{data.get('procedural_music_hours', 0)} h of procedural music (`models/recipe/music.py`: chords, bass, "
                  f"melody and drums at random tempo, key and timbre; {_recorded_music_text(data)})")
    if "recorded_noise_clips" not in data:  # older metrics counted the music pieces among the noise clips
        return (f"{data['noise_clips']} clips ({data['noise_hours']} h) of ESC-10 environmental sounds, Precise room "
                f"tone and {procedural}")
    return (f"{data['recorded_noise_clips']} clips ({data['recorded_noise_hours']} h) of ESC-10 environmental sounds "
            f"and Precise room tone, and {procedural}")


def _recorded_music_text(data: dict) -> str:
    if not data.get("recorded_music_hours"):
        return "no recorded music is trained on"
    return (f"plus {data['recorded_music_hours']} h of recorded music from other Debian packages in 30 s pieces, "
            "sources below, never the held-out wesnoth music")


def _recorded_music_licences(data: dict) -> str:
    if not data.get("recorded_music_hours"):
        return ""
    return """
- **Recorded music** (background, from Debian packages; not the held-out wesnoth music): `colobot-common-sounds`
  (Colobot soundtrack, © 2001–2016 Daniel Roux, EPSITEC SA & TerranovaTeam, GPL-3+), `asc-music` (Advanced
  Strategic Command soundtrack, © 2002 Michael Kievernagel, GPL-2+), `lincity-ng-data` (LinCity-NG music by
  pronobozo and Robert van Herk, GPL-2+), `asterisk-moh-opsound-wav` ("cold day", "robot dity", "the
  simplicity" by Paul Shuler (Macroform), "morning coffee" by Manolo Camp, "system" by Reno Project; CC BY-SA
  3.0). Changes: downmixed, resampled to 16 kHz, cut into 30 s pieces, mixed at random SNR. GPL and CC BY-SA
  are copyleft licences: the question below applies to them too."""


def _debian_speech_licences(data: dict) -> str:
    if not data.get("debian_speech_hours"):
        return ""
    return """
- **Speech from Debian packages** (negatives; the training split of `models/recipe/debian_speech.py`):
  `asterisk-core-sounds-it-wav` (Italian prompts, © 2012 Carlo Flora, CC BY-SA 3.0), `asterisk-core-sounds-ru-wav`
  (Russian prompts, © 2010 ivrvoice.ru, CC BY 3.0), `asterisk-prompt-it-menardi-wav` (Italian prompts, © 2006–2011
  Marco Menardi and Paola Dal Zot, CC BY-SA 3.0 Italy; English source texts © Digium), `asterisk-prompt-es-co`
  (Colombian Spanish prompts, GPL-2+), `fillets-ng-data` and `fillets-ng-data-cs` (Fish Fillets NG voices,
  © ALTAR interactive and the Fish Fillets NG authors, GPL-2), `klettres-data` (KLettres sounds, © 2001–2011
  Anne-Marie Mahfouf and contributors, GPL-2+). Changes: resampled to 16 kHz, cut and mixed into training
  windows with augmentation. GPL and CC BY-SA are copyleft licences: the question below applies to them too."""


# Metrics files older than these keys came from `make` exactly when the run had rooms and vocal-tract shifts.
def _rooms_text(metrics: dict) -> str:
    rooms = metrics["training_data"].get("simulated_rooms", 300 if metrics.get("recipe") else 0)
    return f"; {rooms} simulated shoebox rooms from pyroomacoustics, RT60 0.15–0.8 s, talker 0.5–5 m away" if rooms else ""


def _vocal_tract_text(metrics: dict) -> str:
    if not metrics["training_data"].get("vocal_tract_shift", bool(metrics.get("recipe"))):
        return ""
    return ("; vocal-tract-length shift (resampling ×0.88–1.12: pitch and formants together) of half the positives "
            "and half the negatives alike")


def _tempo_text(metrics: dict) -> str:
    tempo = metrics["training_data"].get("tempo_change")
    if not tempo:
        return ""
    lo, hi = tempo["factors"]
    return (f"; tempo change with pitch kept (WSOLA, ×{lo:g}–{hi:g} the speed) of {tempo['share'] * 100:g} % of the "
            "positives and negatives alike")


def _recipe_line(metrics: dict) -> str:
    recipe = metrics.get("recipe")
    if not recipe:
        return ""
    if recipe["synthesis_s"] < 60:
        return (f"\nThe one command above ran in {recipe['total_wall_s'] / 60:.0f} min on this machine ({recipe['cpu_count']} CPU "
                "cores), reusing the synthesis of an earlier run (cached in `models/work/tts/`); see Limitations for a run from scratch.\n")
    return (f"\nThe one command above ran in {recipe['total_wall_s'] / 60:.0f} min on this machine "
            f"({recipe['cpu_count']} CPU cores: real data {recipe['real_data_s'] / 60:.1f} min, synthesis "
            f"{recipe['synthesis_s'] / 60:.1f} min, training and evaluation {recipe['training_and_evaluation_s'] / 60:.1f} min).\n")


def _peers_section(peers: str | None) -> str:
    if not peers:
        return ""
    return f"""
## Side by side with the peers

`benchmarks/peers.py` runs this model, openWakeWord and microWakeWord on the very same streams (one
CPU thread each); the thresholds at zero false accepts and at ≤ 0.5 per hour are each engine's own, read off
its scores. {peers}
"""


def _networks(metrics: dict) -> int:
    return metrics.get("ensemble", {}).get("networks", 1)  # older metrics: one network


def _ensemble_text(metrics: dict) -> str:
    ensemble = metrics.get("ensemble")
    if not ensemble:
        return ""
    seeds = f" (seeds {', '.join(map(str, ensemble['seeds']))})" if ensemble.get("seeds") else ""
    return (f"An ensemble of {ensemble['networks']} networks trained alike from different seeds{seeds}, in one graph: "
            f"the score is the mean of their {ensemble['networks']} probabilities. Their weights are stored as "
            "float16 and cast to float32 when onnxruntime loads the file, so it runs in float32. Each network:\n\n")


def _layout_text(model: onnx.ModelProto, networks: int) -> str:
    """How the file lays the network(s) out, read off the file itself (older files: 1-D convs, a state set per network)."""
    states = [i for i in model.graph.input if i.name.startswith("state_")]
    plane = len(states[0].type.tensor_type.shape.dim) == 4
    text = (f"Each conv's last (k−1)·d input frames are carried as a `state_i` tensor ({len(states)} states, zeros at "
            "start), so the model sees every frame once.")
    if plane:
        text += (" The file runs the 1-D convs as 2-D convs over a 1 × T plane, which onnxruntime runs with its "
                 "blocked kernels (faster on x86)")
        text += (f", and the {networks} networks side by side as one {networks}-times-wider network, each conv "
                 "grouped by network." if networks > 1 else ".")
    return text


def render(onnx_path: str, metrics: dict, limitations: str, commands: str | None = None, peers: str | None = None) -> str:
    model = onnx.load(onnx_path)
    meta = {p.key: p.value for p in model.metadata_props}
    features = json.loads(meta["wakegate.features"])
    channels = metrics.get("args", {}).get("channels", CHANNELS)  # older metrics: the one width there was
    with open(onnx_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    size = os.path.getsize(onnx_path)
    args = metrics["args"]
    data = metrics["training_data"]
    phrase = args["phrase"]
    train_args = (f"--epochs {args['epochs']} --steps-per-epoch {args['steps_per_epoch']} --batch-size {args['batch_size']} "
                  f"--lr {args['lr']} --threads {args['threads']} --workers {args['workers']} --seed {args['seed']}"
                  + (f" --members {args['members']}" if args.get("members", 1) > 1 else ""))
    streams = metrics["negative_streams"]
    speech_hours = sum(s["hours"] for s in streams if s["stream"].startswith("dev speech"))
    speech_fa = sum(s["false_accepts"] for s in streams if s["stream"].startswith("dev speech"))
    confusable_texts = ", ".join(f"{t} {v}" for t, v in metrics["tts_confusables_accepted_by_text"].items() if not v.startswith("0/"))
    return f"""# Wake-word model: "{phrase}" ({os.path.basename(onnx_path)})

| | |
|---|---|
| wake word (`wakegate.wake_word`) | `{meta['wakegate.wake_word']}` |
| version | `{meta['wakegate.version']}` |
| format | wakegate format {meta['wakegate.format']} (`models/FORMAT.md`) |
| file | `{onnx_path}`, {size:,} bytes |
| sha256 | `{digest}` |
| default threshold (`wakegate.threshold`) | {meta['wakegate.threshold']} |
| step | {meta['wakegate.step_frames']} frames ({int(meta['wakegate.step_frames']) * 10} ms) per call |
| features | `{meta['wakegate.features']}` |
| parameters | {metrics['parameters']:,} |
| licence of this file | see "Training data" (CC BY-SA 4.0 share-alike may apply to a model trained on WUW-II and FSDD) |

## Architecture

{_ensemble_text(metrics)}Streaming causal temporal CNN over {features['n_mels']} log-mel bands ({features['fmin']:g} Hz–{features['fmax'] / 1000:g} kHz, 10 ms hop): per-band mean/std normalisation
(constants inside the graph) → causal Conv1d({features['n_mels']}→{channels}, k={KERNEL}) → BatchNorm → ReLU → {len(DILATIONS)} residual
blocks [depthwise causal Conv1d(k={KERNEL}, dilation {", ".join(map(str, DILATIONS))}) → pointwise Conv1d → BatchNorm → ReLU,
plus skip] → Conv1d({channels}→1) → sigmoid. Receptive field 129 frames (1.29 s). {_layout_text(model, _networks(metrics))}
Exported with `torch.onnx.export` (opset 17); checked: streaming in {meta['wakegate.step_frames']}-frame calls
equals the full-sequence torch output{" of the float32 networks" if _networks(metrics) > 1 else ""} (max abs diff {metrics['verify']['max_abs_diff']:.1e} over
{metrics['verify']['frames_checked']} frames), runs in onnxruntime on one CPU thread.

The score is meant to rise near the end of the wake word: training targets were 1 from 50 ms before
to 250 ms after the word's end.

## Training data

All audio was turned into features with `firmware_py.features.LogMel` after waveform augmentation.

- Positives (synthetic only; {_real_positive_text(metrics, phrase)}):
  {data['kokoro_positives']} Kokoro-82M clips (56 training voices and random 2–3-voice blends, speed 0.8–1.25,
  en-us/en-gb; the word alone or after "hey/okay/um/so/oh"){_in_sentence_text(data)} and {data['espeak_flite_positives']} espeak-ng / flite clips
  (8 espeak-ng dialects × variants, 4 flite voices; no MBROLA voices).
- Synthetic negatives: {data['kokoro_negatives']} Kokoro and {data['espeak_flite_negatives']} espeak-ng/flite clips of
  confusable words ({", ".join(f'"{w}"' for w in CONFUSABLES.get(phrase.lower(), [])[:10]) or "none listed for this phrase"}, …)
  and ordinary sentences; truncated positives (first 30–60 % of the word).
- Real negatives (training speakers only): {data['real_speech_clips']} clips, {data['real_speech_hours']} h of WUW-II
  telephone speech (names and the keywords Operator, ThinkEngine, Onword, Wildfire, Voyager), Mycroft
  Precise wake words and not-wake-words, and FSDD digits{_debian_training_text(data)}{_hard_negative_text(data)}.
- Background: {_background_text(data)}, plus babble (real speech) and white noise, at 0–20 dB SNR (80 %) or 20–40 dB; synthetic
  reverberation (30 %{_rooms_text(metrics)}), {'random microphone response (80 %: spectral tilt, low cut 50–400 Hz, high cut 3–8 kHz, up to three ±10 dB resonances), overdriven preamp (10 %: tanh saturation), ' if data.get('microphone_responses') else ''}telephone band (15 %), level −45…+1 dBFS peak with clipping{_vocal_tract_text(metrics)}{_tempo_text(metrics)}.
- {f"{data['windows_seen']:,} training windows" if data['windows_seen'] else "Training windows"} of 2 s, freshly augmented.

Split: real data by `speaker_or_session` (CRC32 hash, 20 % dev; Precise dev = contributors Kris Gesling
("computer") and Jody Nickel ("amelia"); room tone by file). Kokoro voices {", ".join(metrics['dev_voices'])}
never appear in training, not even in blends.

## Evaluation

Commands (from the repository root; seeds fixed):

```sh
{commands or metrics.get("recipe", {}).get("command") or TRAIN_COMMANDS.format(phrase=phrase, onnx=onnx_path, train_args=train_args)}
```

Evaluation streams the exported ONNX file in {meta['wakegate.step_frames']}-frame calls with state carried, like the device, and
applies the runtime's rule (score ≥ threshold fires; 2 s refractory; no smoothing). Metrics JSON:
`{args.get('metrics') or f"models/work/{meta['wakegate.wake_word']}-metrics.json"}`.
{_recipe_line(metrics)}
**Recall** on {metrics['dev_positives']} held-out synthetic positives (5 unseen Kokoro voices, each clip with 1 s
lead-in, at −26 dBFS active level), at threshold {metrics['threshold']}:

| condition | recall |
|---|---|
| clean (hiss 60 dB down) | {metrics['recall_clean']:.3f} |
| dev ESC-10 noise / room tone at 10 dB SNR | {metrics['recall_noise_10db']:.3f} |
{_phone_line_row(metrics, 'recall_phone_line', 'through a phone line (300–3400 Hz band-pass), clean')}{_real_recall_rows(metrics)}
Clean recall by held-out voice: {", ".join(f"{v} {r:.2f}" for v, r in metrics['recall_clean_by_voice'].items())}.

**False accepts** on real dev audio, streamed continuously (dev speakers never trained on). The
threshold was calibrated on the first stream (zero false accepts there by construction); the others
are held out from calibration.{_debian_speech_text(streams)} In total {speech_fa} false accepts in {speech_hours:.3f} h of dev speech.

| stream | hours | clips | false accepts | per hour | where (label of the clip) | labelled clips in it (other wake words, noise classes) |
|---|---|---|---|---|---|---|
{_fa_rows(streams)}

**Synthetic confusables** (held-out voices, {metrics['tts_confusables_dev']} clips): accepted
{metrics['tts_confusable_accept_rate']:.3f} of them. Accepted: {confusable_texts or "none"}.

Threshold sweep (FA speech: every dev speech stream, {speech_hours:.3f} h; FA music, FA noise: those streams;
"real": the real recordings of the phrase, where there are any; "real, unheard": those of dev-split speakers):

| threshold | recall clean | recall 10 dB | real clean | real 10 dB | real clean, unheard | confusables accepted | FA speech | FA music | FA noise |
|---|---|---|---|---|---|---|---|---|---|
{_sweep_rows(metrics['sweep'])}
{_peers_section(peers)}
## Limitations

{limitations}

## Licences and attributions

The model was trained on the following data; the attributions below are required by their licences.

- **WUW Corpus II** (real telephone speech, negatives): "WUW Corpus II, created by Veton Këpuska (ThinkEngine
  Networks, 2002), from wake-up-word/wuw-corpus-ii, licensed CC BY-SA 4.0. Changes: µ-law decoded to 16-bit PCM
  and stored as FLAC; keyword labels derived from the transcriptions." Reference: Këpuska, V. (2011).
  Wake-Up-Word Speech Recognition. doi:10.5772/16242. Further changes here: resampled to 16 kHz, mixed and
  augmented, turned into log-mel features.
- **Free Spoken Digit Dataset** (negatives): "Free Spoken Digit Dataset (FSDD) by Zohar Jackson and contributors,
  from Jakobovski/free-spoken-digit-dataset, licensed CC BY-SA 4.0. Changes: WAV converted losslessly to FLAC."
  Further changes here: resampled to 16 kHz, mixed and augmented.
- **ESC-10** (background noise): K. J. Piczak, "ESC: Dataset for Environmental Sound Classification", Proc. ACM
  Multimedia 2015, doi:10.1145/2733373.2806390; clips from Freesound under CC BY 3.0 or CC0 per clip (the CC BY 3.0
  clips and their authors are listed at the end). Changes: resampled to 16 kHz, mixed at random SNR.
- **Mycroft Precise community data** (wake words, not-wake-words, room tone): public-domain waivers by their
  contributors (no attribution required); `heysavant` not used.
- **Kokoro-82M** by hexgrad (model weights and voice vectors, Apache-2.0), run through kokoro-onnx; voice
  vectors from remsky/Kokoro-FastAPI (Apache-2.0), converted to float16 npz.
- **espeak-ng** (GPL-3.0) and **flite** (BSD-style) were used as tools to synthesise audio; no MBROLA voice was used.{_recorded_music_licences(data)}{_debian_speech_licences(data)}

WUW-II and FSDD are CC BY-SA 4.0 (share-alike). Whether a model's weights are an adaptation of its training
data is unsettled; treat this file as possibly subject to CC BY-SA 4.0 until that is decided.

### ESC-10 clips under CC BY 3.0

{esc10_attributions()}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", default="models/alexa.onnx")
    parser.add_argument("--metrics", help="default: models/work/<wake word>-metrics.json")
    parser.add_argument("--limitations", required=True, help="a markdown file with the limitations section")
    parser.add_argument("--out", help="default: the .onnx path with .md")
    parser.add_argument("--commands", help="a file with the exact commands that made the model (default: derived from the metrics)")
    parser.add_argument("--peers", help="markdown: the peer benchmark's command and the tables it printed for this model")
    args = parser.parse_args()
    wake_word = {p.key: p.value for p in onnx.load(args.onnx).metadata_props}["wakegate.wake_word"]
    with open(args.metrics or os.path.join(WORK_DIR, f"{wake_word}-metrics.json")) as f:
        metrics = json.load(f)
    limitations, commands, peers = (Path(p).read_text().strip() if p else None
                                    for p in (args.limitations, args.commands, args.peers))
    card = render(args.onnx, metrics, limitations, commands, peers)  # all read before the old card is replaced
    Path(args.out or os.path.splitext(args.onnx)[0] + ".md").write_text(card)


if __name__ == "__main__":
    main()
