"""The ``wakegate`` command: argparse → settings → pipeline. Errors end in one line and exit 2."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from .errors import AudioError, ConfigError, WakegateError

log = logging.getLogger("wakegate")

DEMO_FIXTURE = Path(__file__).resolve().parent / "data" / "demo.flac"
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


# -- building blocks -----------------------------------------------------------------------------


def _settings(args):
    from .config import load_settings

    overrides: dict[str, dict] = {}
    if getattr(args, "model", None):
        overrides.setdefault("models", {})["models"] = list(args.model)
    if getattr(args, "threshold", None) is not None:
        overrides.setdefault("detector", {})["threshold"] = args.threshold
    if getattr(args, "device", None) is not None:
        overrides.setdefault("audio", {})["device"] = args.device
    if getattr(args, "data_dir", None):
        overrides.setdefault("spool", {})["dir"] = args.data_dir
    return load_settings(getattr(args, "config", None), overrides)


def build_detector(settings):
    from .detector import load_detector

    m = settings.models
    return load_detector(m.models, m.threads, settings.detector, m.allow_unsigned, m.trusted_keys)


def _input_blocks(source: str, settings, realtime: bool, raw_rate: int):
    from .audio_in import file_blocks, paced, stdin_blocks

    block = settings.audio.block_samples
    blocks = stdin_blocks(block, rate=raw_rate) if source == "-" else file_blocks(source, block)
    return paced(blocks) if realtime else blocks


def _print(line: str) -> None:
    print(line, flush=True)


# -- commands ------------------------------------------------------------------------------------


def cmd_detect(args) -> int:
    """JSON lines of detections (and scores) for one audio file; the evaluation interface."""
    settings = _settings(args)
    detector = build_detector(settings)
    blocks = _input_blocks(args.audio, settings, realtime=False, raw_rate=args.raw_rate)
    out = sys.stdout
    for block in blocks:
        detections, score_blocks = detector.process(block, with_scores=args.scores)
        if args.scores and score_blocks:
            for line in _score_lines(score_blocks):
                out.write(line)
        for d in detections:
            out.write(json.dumps({"event": "detection", "wake_word": d.wake_word, "time_s": round(d.time_s, 3), "score": round(d.score, 4)}) + "\n")
    out.flush()
    return 0


def _score_lines(score_blocks):
    """One line per frame; models whose frames end at the same times share a line."""
    groups: dict[tuple, list] = {}
    for block in score_blocks:
        groups.setdefault(tuple(block.end_times_s.round(6)), []).append(block)
    for times, blocks in groups.items():
        for i, t in enumerate(times):
            scores = {b.wake_word: round(float(b.scores[i]), 4) for b in blocks}
            yield json.dumps({"event": "score", "time_s": round(t, 3), "scores": scores}) + "\n"


def cmd_run(args) -> int:
    """Listen (mic, file or stdin), keep clips that follow a detection in the spool, discard the rest."""
    from .gate import Gate
    from .indicator import Indicator
    from .pipeline import Pipeline
    from .runtime import ControlServer, Controller, FileSource, MicrophoneSource, Runtime
    from .sinks import Sinks
    from .spool import ensure_private_dir

    settings = _settings(args)
    board = None
    if getattr(args, "board", None):  # the board's mic beats the config file; --device beats the board
        from .boards import apply_board

        board, settings = apply_board(args.board, settings, {"device": args.device})
    detector = build_detector(settings)
    gate = Gate(settings.gate, detector.sample_rate, detector.latency_samples)
    spool = _spool(settings)
    names = ", ".join(f"{r.info.wake_word} {r.info.version} (threshold {r.threshold:.2f})" for r in detector.runners)
    rate = detector.sample_rate
    indicator = Indicator(state_file=spool.data_dir / "indicator")

    def stored(clip, record):
        _print(f"clip {record.clip_id}: {record.meta['duration_s']:.2f} s "
               f"({record.meta['preroll_s']:.2f} s pre-roll, ended by {clip.end_reason}), sealed → {record.path}")

    def detected(d):
        _print(f"detected {d.wake_word} at {d.time_s:.2f} s (score {d.score:.2f})")

    sinks = Sinks(settings, spool, indicator, detector.models, on_stored=stored)
    pipeline = Pipeline(detector, gate, on_clip=sinks.submit, on_detection=detected)
    controller = Controller()
    runtime = Runtime(pipeline, controller, indicator, int(args.duration * rate) if args.duration else None)
    from .gpio import open_board_io
    from .service import ServiceHooks

    board_io, service = open_board_io(board, controller, indicator), ServiceHooks(runtime, controller)
    if args.input:
        source = FileSource(_input_blocks(args.input, settings, args.realtime, args.raw_rate))
    else:
        from .audio_in import Microphone

        audio = settings.audio
        source = MicrophoneSource(lambda: Microphone(audio.device or None, audio.rate or None, audio.channels, audio.channel,
                                                     audio.block_samples, stall_timeout_s=audio.stall_timeout_s))

    def status() -> dict:
        return {
            "state": runtime.state,
            "uptime_s": round(time.monotonic() - runtime.started, 1),
            "audio_s": round(pipeline.stats.samples / rate, 1),
            "detections": pipeline.stats.detections,
            "clips": pipeline.stats.clips,
            "clips_pending": sinks.pending,
            "clips_delivered": sinks.delivered,
            "clips_failed": len(sinks.errors),
            "clips_dropped": spool.dropped,
            "overflows": source.overflows,
            "mutes": runtime.mutes,
            "models": [{"wake_word": m.wake_word, "version": m.version} for m in detector.models],
        }

    control = ControlServer(spool.data_dir / "control.sock", controller, status)
    ensure_private_dir(spool.data_dir)
    control.start()
    try:
        if args.input:
            _print(f"wakegate {__version__}: replaying {args.input} through {names}")
        else:
            source.open()  # fail here, before any audio, if the device cannot be opened
            _print(f"wakegate {__version__}: listening on {source.description} for {names}; Ctrl-C stops")
            source.close()
        service.ready(f"listening for {names}")
        runtime.run(source)
    except KeyboardInterrupt:  # the runtime has already handed off a capture in progress
        _print("stopped")
    except AudioError as exc:
        source.close()
        if getattr(source, "wedged", False):  # PortAudio's exit handler would hang too: leave without it
            sinks.close(grace_s=2.0)
            control.close()
            service.stopping()
            if board_io:
                board_io.close(failed=True)
            print(f"wakegate: error: {exc}", file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(EXIT_ERROR)
        raise
    finally:
        source.close()
        control.close()
        left = sinks.close(grace_s=10.0 if args.input else 2.0)  # every captured clip is stored first
        if left:
            _print(f"{left} clip(s) still waiting for delivery; they go out on the next start")
        service.stopping()
        if board_io:
            board_io.close(failed=sys.exc_info()[0] not in (None, KeyboardInterrupt))
    stats = pipeline.stats
    overflows = f", {source.overflows} input overflows" if source.overflows is not None else ""
    _print(f"done: {stats.samples / rate:.1f} s of audio, {stats.detections} detection(s), {stats.clips} clip(s) "
           f"kept ({stats.clip_samples / rate:.1f} s) in {spool.dir}; "
           f"{gate.samples_discarded / rate:.1f} s discarded (zeroed, never stored){overflows}")
    if sinks.errors:
        raise WakegateError(f"{len(sinks.errors)} clip(s) could not be stored: {sinks.errors[0]}")
    if getattr(source, "wedged", False):  # stopped while the driver hung: PortAudio's exit handler would hang too
        sys.stdout.flush()
        os._exit(0)
    return 0


def cmd_control(args) -> int:
    """`wakegate mute on|off` and `wakegate status`: ask the running gate."""
    from .runtime import send_command

    settings = _settings(args)
    command = "status" if args.command == "status" else ("mute" if args.state == "on" else "unmute")
    reply = send_command(settings.spool.data_dir / "control.sock", command)
    if not reply.get("ok"):
        raise WakegateError(reply.get("error", "the running wakegate refused"))
    if args.command == "status" and not args.json:
        models = ", ".join(f"{m['wake_word']} {m['version']}" for m in reply["models"])
        _print(f"state {reply['state']}, up {reply['uptime_s']:.0f} s, {reply['audio_s']:.0f} s of audio, "
               f"{reply['detections']} detection(s), {reply['clips']} clip(s) ({reply['clips_pending']} pending, "
               f"{reply['clips_delivered']} delivered, {reply['clips_dropped']} dropped, {reply['clips_failed']} failed), "
               f"overflows {reply['overflows']}, models {models}")
    else:
        _print(json.dumps({k: v for k, v in reply.items() if k != "ok"}))
    return 0


def _spool(settings, need_key: bool = True):
    from .sealing import OwnerPublicKey
    from .spool import Spool

    spool_settings = settings.spool
    owner = OwnerPublicKey.load(spool_settings.public_key_path) if need_key else None
    return Spool(spool_settings.data_dir, owner, spool_settings.max_clips, int(spool_settings.max_mb * 2**20),
                 device_label=spool_settings.device_label)


def cmd_demo(args) -> int:
    """The embedded default: the microphone if there is one, else the bundled fixture."""
    _demo_keys(args)
    if not args.fixture:
        try:
            from .audio_in import find_input_device

            device = find_input_device(None)
            _print(f"demo: using microphone {device.name}")
            args.input = None
            return cmd_run(args)
        except AudioError as exc:
            _print(f"demo: no usable microphone ({exc}); replaying the bundled fixture instead")
    if not DEMO_FIXTURE.is_file():
        raise WakegateError(f"demo fixture missing: {DEMO_FIXTURE}")
    args.input = str(DEMO_FIXTURE)
    return cmd_run(args)


def _demo_keys(args) -> None:
    """The demo seals clips like the real thing; on first use it makes the owner's keys."""
    from .config import default_private_key
    from .sealing import generate_keys

    settings = _settings(args)
    public = settings.spool.public_key_path
    if not public.exists():
        private = default_private_key()
        generate_keys(private, public)
        _print(f"demo: made an owner key pair: clips are sealed to {public}; open them with {private} "
               f"(on a real device, keep that private key elsewhere)")


def cmd_boards(args) -> int:
    from .boards import describe, list_boards

    for profile in list_boards():
        _print(describe(profile))
    return 0


def cmd_wyoming_wake(args) -> int:
    from .wyoming_wake import serve

    settings = _settings(args)
    _print(f"wakegate {__version__}: serving {', '.join(settings.models.models)} to Wyoming clients on {args.uri}")
    return serve(settings, args.uri)


def cmd_devices(args) -> int:
    from .audio_in import list_input_devices

    devices = list_input_devices()
    if not devices:
        _print("no audio input devices")
    for d in devices:
        mark = "*" if d.is_default else " "
        _print(f"{mark} {d.index:3d}  {d.name}  ({d.channels} ch, {d.default_rate} Hz)")
    return 0


def cmd_models(args) -> int:
    """List the models found (and whether each is signed by a trusted key), verify, or sign them."""
    from .model import StreamingModel, model_search_dirs, resolve_model
    from .signing import check_model, sign_model

    action = getattr(args, "models_command", None) or "list"
    if action == "sign":
        if args.new_key:
            _new_signing_key(Path(args.key))
        signature = sign_model(resolve_model(args.model), Path(args.key))
        _print(f"signed: {signature}")
        return 0
    settings = _settings(args) if getattr(args, "config", None) else None
    extra = settings.models.trusted_keys if settings else ()
    if action == "verify" and args.model:
        paths = [resolve_model(name) for name in args.model]
    else:
        paths = [p for d in model_search_dirs() if d.is_dir() for p in sorted(d.glob("*.onnx"))]
    failures = 0
    for path in paths:
        try:
            status = check_model(path, allow_unsigned=False, extra_keys=extra)
            info = StreamingModel(path).info
            _print(f"{info.wake_word:12s} {info.version:8s} threshold {info.threshold:.2f}  {status}  {path}")
        except WakegateError as exc:
            failures += 1
            _print(f"REFUSED  {path}: {exc}")
    return 1 if failures and action == "verify" else 0


def _new_signing_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from .spool import write_atomically

    if path.exists():
        raise WakegateError(f"{path} exists; not replacing a signing key")
    key = Ed25519PrivateKey.generate()
    write_atomically(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    public = path.with_suffix(".pub.pem")
    write_atomically(public, key.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))
    _print(f"new signing key {path} (keep it secret); trust it with [models] trusted_keys = [\"{public}\"]")


def _progress(total_label: str):
    """tqdm on a terminal when installed; otherwise nothing (the summary still says what was done)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return lambda items: tqdm(items, desc=total_label, unit="file", leave=False, disable=not sys.stderr.isatty())


def cmd_eval(args) -> int:
    """Replay labelled fixtures through the runtime detector; recall, FA/h, latency, sweep, reports."""
    import time

    from .evaluate import EvalSettings, default_jobs, evaluate, file_scores, local_executor, summarise
    from .fixtures import load_fixtures
    from .report import build_report, check_targets, dumps, junit_xml, plot_det, plot_timeline, text_summary

    settings = _settings(args)
    fixtures = load_fixtures(args.fixtures)
    if args.hit_window < 0:
        raise ConfigError("--hit-window must not be negative")
    eval_settings = EvalSettings(hit_window_s=args.hit_window)
    detector = build_detector(settings)  # loads every model once here, so a bad model fails before any work
    thresholds = {r.info.wake_word: r.threshold for r in detector.runners}
    jobs = args.jobs or default_jobs()
    client = executor = None
    started = time.monotonic()
    try:
        if args.scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise WakegateError("--scheduler needs Dask: pip install 'wakegate[eval]'") from None
            try:
                client = Client(args.scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise WakegateError(f"cannot reach the Dask scheduler at {args.scheduler} ({exc})") from None
            executor = client.get_executor()
            workers = len(client.scheduler_info().get("workers", {}))
        elif jobs > 1 and len(fixtures) > 1:
            executor = local_executor(min(jobs, len(fixtures)))
            workers = min(jobs, len(fixtures))
        else:
            workers = 1
        progress = _progress("eval")
        bar = progress(range(len(fixtures))) if progress else None
        results = evaluate(fixtures, settings, eval_settings, executor, on_result=(lambda r: bar.update(1)) if bar is not None else None)
        if bar is not None:
            bar.close()
    finally:
        if executor is not None and client is None:
            executor.shutdown()
        if client is not None:
            client.close()
    wall_s = time.monotonic() - started
    audio_s = sum(r.duration_s for r in results)
    summary = summarise(results, thresholds, eval_settings)
    timing = {"wall_s": round(wall_s, 3), "realtime_factor": round(audio_s / wall_s, 1) if wall_s > 0 else None,
              "workers": workers, "cpu_s": round(sum(r.cpu_s for r in results), 3)}
    report = build_report(args.fixtures, settings, detector, eval_settings, results, summary, timing)
    checks = check_targets(summary, args.min_recall, args.max_fa_per_hour)
    print(text_summary(report))
    for wake_word, check, failure in checks:
        print(f"{'FAIL' if failure else 'pass'}: {wake_word} {check}" + (f": {failure}" if failure else ""))
    if args.json:
        Path(args.json).write_text(dumps(report))
        print(f"JSON report: {args.json}")
    if args.junit:
        Path(args.junit).write_bytes(junit_xml(checks, wall_s))
        print(f"JUnit report: {args.junit}")
    if args.plots:
        plots = Path(args.plots)
        plots.mkdir(parents=True, exist_ok=True)
        print(f"DET plot: {plot_det(summary, plots / 'det.png')}")
        chosen = next((f for f in fixtures if f.name == args.timeline), None) if args.timeline else next((f for f in fixtures if f.utterances), fixtures[0])
        if chosen is None:
            raise WakegateError(f"--timeline {args.timeline}: no such file in the fixtures")
        _, _, _, scores = file_scores(chosen, settings)
        hop = {r.info.wake_word: r.info.features.hop / r.info.features.sample_rate for r in detector.runners}
        curves = {w: ((np.arange(len(s)) + 1) * hop[w], s) for w, s in scores.items()}
        print(f"timeline plot: {plot_timeline(chosen, curves, thresholds, plots / 'timeline.png')}")
    return 1 if any(failure for *_, failure in checks) else 0


def cmd_fixtures_make(args) -> int:
    from .fixture_maker import make_fixtures

    labels = make_fixtures(Path(args.out), args.wake_word.strip().lower(), args.positives, args.negatives,
                           tuple(args.engine or ("espeak-ng", "flite")), args.snr, args.reverb, args.seed,
                           progress=_progress("synthesising"))
    _print(f"wrote {args.positives} positive and {args.negatives} negative file(s) and {labels}")
    return 0


def cmd_keys_init(args) -> int:
    from .config import default_private_key
    from .sealing import generate_keys

    settings = _settings(args)
    private = Path(args.private_key) if args.private_key else default_private_key()
    public = settings.spool.public_key_path
    key = generate_keys(private, public, force=args.force)
    _print(f"owner key {key}: public key {public} (the device needs only this), private key {private}")
    _print("keep the private key off the device: whoever holds it can open every clip")
    return 0


def _private_key(args):
    from .config import default_private_key
    from .sealing import load_private_key

    return load_private_key(Path(args.private_key) if args.private_key else default_private_key())


def cmd_clips(args) -> int:
    settings = _settings(args)
    spool = _spool(settings, need_key=False)
    action = args.clips_command
    if action == "list":
        clips = spool.list()
        if not clips:
            _print(f"no clips in {spool.dir}")
        for c in clips:
            m = c.meta
            _print(f"{c.clip_id}  {m.get('time')}  {m.get('wake_word')} {m.get('score')}  {m.get('duration_s')} s  "
                   f"{m.get('end_reason')}  model {m.get('model_version')}")
        return 0
    if action == "purge":
        older = _parse_age(args.older_than) if args.older_than else 0.0
        purged = spool.purge(older)
        _print(f"purged {len(purged)} clip(s)")
        return 0
    if action == "delete":
        stored = spool.delete(args.clip_id)
        _print(f"deleted {stored.clip_id}")
        return 0
    meta, wav = spool.open(args.clip_id, _private_key(args))
    if action == "export":
        from .spool import write_atomically

        out = Path(args.out)
        write_atomically(out, wav)
        spool.audit.append("exported", meta["id"])
        _print(f"exported {meta['id']} ({meta['duration_s']} s) to {out}")
        return 0
    # play: decrypted in memory, straight to the default output device
    import io

    import soundfile

    from .audio_in import _sounddevice

    audio, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    sd = _sounddevice()
    try:
        sd.play(audio, rate)
        sd.wait()
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot play: {exc}") from None
    return 0


def _parse_age(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    number, unit = text[:-1], text[-1:]
    try:
        value = float(number) * units[unit]
    except (ValueError, KeyError):
        raise ConfigError(f"--older-than {text!r}: use a number and a unit, e.g. 30m, 12h, 7d") from None
    if value < 0:
        raise ConfigError("--older-than must not be negative")
    return value


def cmd_audit(args) -> int:
    from .audit import AuditLog
    from .spool import AUDIT_NAME

    settings = _settings(args)
    log = AuditLog(settings.spool.data_dir / AUDIT_NAME)
    if args.audit_command == "verify":
        result = log.verify()
        if not result.ok:
            print(f"wakegate: audit log {log.path} is NOT intact: {result.problem}", file=sys.stderr)
            return 1
        _print(f"audit log intact: {result.entries} entries, head {result.head}")
        return 0
    for entry in log.entries():
        if "unreadable" in entry:
            _print(f"?? unreadable line: {entry['unreadable']}")
            continue
        details = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in {"seq", "time", "event", "clip_id", "prev", "hash"})
        _print(f"{entry.get('seq'):>5}  {entry.get('time')}  {entry.get('event'):<16} {entry.get('clip_id') or '-'}  {details}")
    return 0


# -- argument parsing ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wakegate", description="Privacy-first wake-word gate: no audio leaves unless the wake word fires.")
    parser.add_argument("--version", action="version", version=f"wakegate {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (to stderr); -vv for debug")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p, with_input_options=True):
        p.add_argument("--config", metavar="TOML", help="settings file (defaults work without one)")
        p.add_argument("--model", action="append", metavar="M", help="model name or .onnx path (repeatable)")
        p.add_argument("--threshold", type=float, metavar="T", help="detection threshold for every model")
        if with_input_options:
            p.add_argument("--raw-rate", type=int, default=16000, metavar="HZ", help="sample rate of raw PCM on stdin")

    p = sub.add_parser("run", help="listen and keep clips that follow the wake word")
    common(p)
    p.add_argument("--input", metavar="AUDIO", help="replay an audio file (WAV/FLAC/…) or '-' for raw s16le PCM on stdin instead of the mic")
    p.add_argument("--realtime", action="store_true", help="pace replay at real time")
    p.add_argument("--device", metavar="DEV", help="input device name or index (see 'wakegate devices')")
    p.add_argument("--data-dir", metavar="DIR", help="where the spool lives")
    p.add_argument("--duration", type=float, metavar="S", help="stop after this many seconds of audio")
    p.add_argument("--board", metavar="NAME", help="board profile (see 'wakegate boards') or a .toml file: its mic, LED and button")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="run on the microphone if present, else on the bundled fixture")
    common(p)
    p.add_argument("--fixture", action="store_true", help="use the bundled fixture even if a mic exists")
    p.add_argument("--realtime", action="store_true", help="pace replay at real time")
    p.add_argument("--device", metavar="DEV", help=argparse.SUPPRESS)
    p.add_argument("--data-dir", metavar="DIR", help="where the spool lives")
    p.add_argument("--duration", type=float, metavar="S", help="stop after this many seconds of audio")
    p.set_defaults(func=cmd_demo, input=None)

    p = sub.add_parser("detect", help="print detections (and scores) of an audio file as JSON lines")
    common(p)
    p.add_argument("audio", metavar="AUDIO_FILE", help="WAV/FLAC/… file, or '-' for raw s16le PCM on stdin")
    p.add_argument("--scores", action="store_true", help="also print every frame's score")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("eval", help="replay labelled fixtures and report recall, false accepts, latency")
    common(p, with_input_options=False)
    p.add_argument("fixtures", metavar="FIXTURES", help="folder of audio files with labels.csv or labels.jsonl")
    p.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--hit-window", type=float, default=1.0, metavar="S", help="a detection this long after the wake word's end still counts (1.0)")
    p.add_argument("--json", metavar="OUT", help="write the JSON report here")
    p.add_argument("--junit", metavar="OUT", help="write a JUnit XML report of the targets here")
    p.add_argument("--plots", metavar="DIR", help="write det.png and timeline.png here (needs matplotlib)")
    p.add_argument("--timeline", metavar="FILE", help="the fixture file to draw the score timeline of")
    p.add_argument("--min-recall", type=float, metavar="R", help="target: fail (exit 1) below this recall")
    p.add_argument("--max-fa-per-hour", type=float, metavar="F", help="target: fail (exit 1) above this many false accepts per hour")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("fixtures", help="make labelled fixture packs")
    fixtures_sub = p.add_subparsers(dest="fixtures_command", required=True, metavar="ACTION")
    p = fixtures_sub.add_parser("make", help="synthesise a labelled pack from text with the TTS engines installed")
    p.add_argument("out", metavar="OUT", help="new folder for the pack")
    p.add_argument("--wake-word", default="alexa", help="the wake word spoken in the positives (alexa)")
    p.add_argument("--positives", type=int, default=20, metavar="N")
    p.add_argument("--negatives", type=int, default=20, metavar="N")
    p.add_argument("--engine", action="append", choices=["espeak-ng", "flite"], help="TTS engine (repeatable; default both)")
    p.add_argument("--snr", type=float, metavar="DB", help="add pink/brown noise at this signal-to-noise ratio")
    p.add_argument("--reverb", action="store_true", help="simulate a room")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_fixtures_make)

    def with_spool(p):
        p.add_argument("--config", metavar="TOML", help="settings file")
        p.add_argument("--data-dir", metavar="DIR", help="where the spool lives")

    p = sub.add_parser("keys", help="the owner's key pair that clips are sealed to")
    keys_sub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = keys_sub.add_parser("init", help="make the owner's key pair")
    with_spool(p)
    p.add_argument("--private-key", metavar="PATH", help="where to write the private key (~/.config/wakegate/owner.key)")
    p.add_argument("--force", action="store_true", help="replace existing keys (old clips then cannot be opened)")
    p.set_defaults(func=cmd_keys_init)

    p = sub.add_parser("clips", help="list, play, export and delete the clips in the spool")
    clips_sub = p.add_subparsers(dest="clips_command", required=True, metavar="ACTION")
    for name, help_text in [("list", "list clips (no key needed)"), ("play", "play a clip"), ("export", "decrypt a clip to a WAV file"),
                            ("delete", "delete a clip"), ("purge", "delete every clip, or those older than --older-than")]:
        p = clips_sub.add_parser(name, help=help_text)
        with_spool(p)
        if name in ("play", "export", "delete"):
            p.add_argument("clip_id", metavar="ID", help="clip id (or an unambiguous start of it)")
        if name in ("play", "export"):
            p.add_argument("--private-key", metavar="PATH", help="the owner's private key (~/.config/wakegate/owner.key)")
        if name == "export":
            p.add_argument("out", metavar="OUT.wav")
        if name == "purge":
            p.add_argument("--older-than", metavar="AGE", help="e.g. 30m, 12h, 7d")
        p.set_defaults(func=cmd_clips)

    p = sub.add_parser("audit", help="the audit log of every clip event")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    for name, help_text in [("verify", "check the hash chain"), ("show", "print the log")]:
        p = audit_sub.add_parser(name, help=help_text)
        with_spool(p)
        p.set_defaults(func=cmd_audit)

    p = sub.add_parser("mute", help="mute or unmute the running gate (closes the input stream)")
    p.add_argument("state", choices=["on", "off"])
    with_spool(p)
    p.set_defaults(func=cmd_control)

    p = sub.add_parser("status", help="what the running gate is doing (no audio, no identity)")
    with_spool(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_control)

    p = sub.add_parser("boards", help="list the board profiles")
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("wyoming-wake", help="serve the wake-word models to Home Assistant over Wyoming")
    common(p, with_input_options=False)
    p.add_argument("--uri", default="tcp://127.0.0.1:10400",
                   help="where to listen: tcp://HOST:PORT or unix://PATH (default tcp://127.0.0.1:10400); Wyoming has "
                        "no authentication or encryption, so keep it on localhost unless the network is trusted")
    p.set_defaults(func=cmd_wyoming_wake)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("models", help="list, verify or sign models (list by default)")
    p.set_defaults(func=cmd_models)
    models_sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    q = models_sub.add_parser("list", help="the models found, and whether each is signed by a trusted key")
    q.add_argument("--config", metavar="TOML", help="settings file (for [models] trusted_keys)")
    q = models_sub.add_parser("verify", help="check signatures; exit 1 if any model is refused")
    q.add_argument("model", nargs="*", metavar="MODEL", help="names or .onnx paths (default: all found)")
    q.add_argument("--config", metavar="TOML", help="settings file (for [models] trusted_keys)")
    q = models_sub.add_parser("sign", help="sign a model and its card with an Ed25519 key")
    q.add_argument("model", metavar="MODEL")
    q.add_argument("--key", required=True, metavar="PEM", help="Ed25519 private key")
    q.add_argument("--new-key", action="store_true", help="make the key (and KEY.pub.pem) first")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(stream=sys.stderr, level=level,
                        format="wakegate: %(levelname)s: %(message)s")
    if args.command in ("run", "demo"):
        signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return args.func(args)
    except WakegateError as exc:
        print(f"wakegate: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug, not the user's fault: one line, traceback only on request
        if args.debug:
            raise
        print(f"wakegate: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr)
        return 70


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
