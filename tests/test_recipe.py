"""The training recipe's pure parts (no torch, no TTS): music, rooms, which real clips are held out."""

import json
import os

import numpy as np
import pytest

from models.recipe import music, real_data


def test_procedural_music_is_reproducible_int16_and_not_silence():
    first, again = music.training_music(7, pieces=3, seconds=4.0), music.training_music(7, pieces=3, seconds=4.0)
    assert len(first) == 3 and all(a.dtype == np.int16 and len(a) == 4 * 16000 for a in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], music.training_music(8, pieces=1, seconds=4.0)[0])
    for piece in first:
        frames = piece[: len(piece) // 160 * 160].reshape(-1, 160).astype(np.float64)
        assert np.sqrt(np.mean(frames**2)) > 500  # audible throughout, not a few notes in silence
        assert np.mean(np.sqrt(np.mean(frames**2, axis=1)) > 100) > 0.9


@pytest.mark.parametrize("label, phrase, says", [
    ("computer", "computer", True), ("hey computer", "computer", True), ("Computer", "computer", True),
    ("computer-partial", "computer", False), ("supercomputer", "computer", False), ("none", "computer", False),
    ("hey nova", "hey nova", True), ("alexa", "computer", False),
    ("onword+wildfire", "wildfire", True), ("wildfire+voyager", "wildfire", True), ("onword+wildfire", "voyager", False),
    ("wildfire-partial", "wildfire", False),
])
def test_the_phrase_s_own_recordings_are_recognised_by_label(label, phrase, says):
    assert real_data.says_phrase(np.array([label]), phrase).tolist() == [says]


def test_simulated_rooms_start_at_the_direct_sound_and_decay():
    pytest.importorskip("pyroomacoustics")
    from models.recipe.augment import simulated_rooms

    rooms = simulated_rooms(seed=3, count=12)
    assert len(rooms) == 12
    for ir in rooms:
        assert np.argmax(np.abs(ir)) <= 40  # the word's end stays where its labels put it
        tail = ir[int(0.1 * 16000) :]
        assert np.sum(tail**2) < np.sum(ir[: int(0.1 * 16000)] ** 2)


def _band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / 16000)
    return float(10 * np.log10(spectrum[(f >= lo) & (f < hi)].mean()))


def test_microphone_responses_differ_roll_off_the_top_and_keep_length():
    from models.recipe.augment import microphone_response

    rng = np.random.default_rng(5)
    noise = rng.standard_normal(24001).astype(np.float32)  # odd length: the padding must still fit
    outputs = [microphone_response(rng, noise) for _ in range(40)]
    assert all(y.shape == noise.shape and y.dtype == np.float32 for y in outputs)
    top_minus_mid = np.array([_band_db(y, 7000, 8000) - _band_db(y, 800, 1200) for y in outputs])
    assert np.median(top_minus_mid) < -10  # most capsules roll off well before 8 kHz
    assert top_minus_mid.std() > 5  # and each differently: the model must not learn one response
    again = microphone_response(np.random.default_rng(9), noise)
    assert np.array_equal(again, microphone_response(np.random.default_rng(9), noise))


def test_microphone_response_does_not_wrap_the_end_of_a_window_into_its_start():
    from models.recipe.augment import microphone_response

    click_at_the_end = np.zeros(32000, np.float32)
    click_at_the_end[-1] = 30000.0
    for seed in range(10):
        y = microphone_response(np.random.default_rng(seed), click_at_the_end)
        assert np.abs(y[:16000]).max() < 1e-3 * np.abs(y).max()


@pytest.mark.parametrize("factor", [0.9, 1.0, 1.4])
def test_a_tempo_change_scales_the_duration_but_keeps_pitch_and_level(factor):
    from models.recipe.augment import tempo_change

    t = np.arange(16000) / 16000
    vowel = (3000 * np.sin(2 * np.pi * 180 * t) + 1500 * np.sin(2 * np.pi * 540 * t)).astype(np.float32)
    y = tempo_change(vowel, factor)
    assert len(y) == int(16000 / factor)
    middle = y[2000:-2000]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    freqs = np.fft.rfftfreq(len(middle), 1 / 16000)
    assert abs(freqs[np.argmax(spectrum)] - 180) < 5  # a pitch shift would move this by the factor
    assert abs(np.std(middle) / np.std(vowel) - 1) < 0.05


def test_a_tempo_change_leaves_clips_shorter_than_its_frames_alone():
    from models.recipe.augment import tempo_change

    click = np.zeros(300, np.float32)
    click[10] = 1.0
    assert np.array_equal(tempo_change(click, 1.3), click)


def test_soft_clip_saturates_but_keeps_the_peak_and_the_sign():
    from models.recipe.augment import soft_clip

    x = np.sin(np.linspace(0, 20 * np.pi, 8000)).astype(np.float32) * 1000
    y = soft_clip(np.random.default_rng(1), x)
    assert np.abs(y).max() <= np.abs(x).max() + 1e-3
    assert np.all(np.sign(y) == np.sign(x))
    assert np.mean(np.abs(y)) > np.mean(np.abs(x))  # flattened tops: more energy near the peak


@pytest.mark.parametrize("phrase", ["voyager", "hey nova"])
def test_in_sentence_positives_end_with_the_wake_word_and_use_no_dev_voice(phrase):
    from models.recipe import synthesize

    word = phrase.capitalize()
    texts = synthesize.context_texts(phrase)
    assert len(set(texts)) == len(texts) > 50
    # The word must end the text: the end of the trimmed audio is where the training labels put the detection.
    assert all(t.rstrip(".!?").endswith(f" {word}") for t in texts)
    voices = {name: None for name in ["af_heart", "am_adam", "bf_emma", *synthesize.DEV_KOKORO_VOICES]}
    in_sentence = synthesize.clip_sets(phrase, voices)["pos_context"]
    assert len(in_sentence) >= 500 and {spec.text for spec in in_sentence} <= set(texts)
    used = {part.split(":")[0] for spec in in_sentence for part in spec.voice.split("+")}
    assert used and not used & set(synthesize.DEV_KOKORO_VOICES)


@pytest.mark.parametrize("in_sentence", [True, False])
def test_training_positives_are_synthesised_sets_and_never_the_dev_voices(in_sentence):
    from models.recipe import synthesize

    sets = synthesize.training_positive_sets(in_sentence)
    voices = {name: None for name in ["af_heart", "am_adam", "bf_emma", *synthesize.DEV_KOKORO_VOICES]}
    assert set(sets) <= set(synthesize.clip_sets("alexa", voices))
    assert "pos_dev" not in sets and ("pos_context" in sets) == in_sentence


def _tone_burst(length_s: float, bursts: dict[float, float]) -> np.ndarray:
    """Near-silence with 0.3 s tone bursts: {start second: amplitude}."""
    x = np.random.default_rng(0).standard_normal(int(length_s * 16000)).astype(np.float32) * 3
    t = np.arange(int(0.3 * 16000)) / 16000
    for start, amplitude in bursts.items():
        i = int(start * 16000)
        x[i : i + len(t)] += amplitude * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    return x


def _loudness(features: np.ndarray) -> np.ndarray:
    """A stand-in model that 'fires' on loud frames: log-mel energy squashed to 0..1."""
    return 1 / (1 + np.exp(-(features.mean(1) + 4.0)))


def test_mining_finds_the_moments_that_fire_loudest_first_and_cuts_excerpts_ending_there():
    from models.recipe import hard_negatives
    from models.recipe.dataset import FEATURES

    streams = [_tone_burst(6.0, {1.0: 3000.0, 4.0: 20000.0}), _tone_burst(3.0, {}), _tone_burst(3.0, {0.5: 8000.0})]
    miner = hard_negatives.Miner(streams, FEATURES, context_frames=0, before_s=1.0, after_s=0.2)
    quiet_score = float(_loudness(miner.features[1]).max())
    mined = miner.mine(_loudness, min_score=quiet_score + 0.05, limit=10)
    assert [h.source[0] for h in mined] == [0, 2, 0]  # loudest first; the silent stream never fires
    assert [h.score for h in mined] == sorted((h.score for h in mined), reverse=True)
    for hard in mined:
        assert len(hard.audio) - hard.peak == int(0.2 * 16000) and hard.peak <= 16000
        # The frame that fired hardest is inside the 0.3 s burst, and the excerpt holds its onset.
        assert np.abs(hard.audio[hard.peak - 400 : hard.peak]).max() > 1000
        onset = int(np.argmax(np.abs(hard.audio) > 100))  # the hiss stays below 100
        assert 0 < onset < hard.peak <= onset + int(0.3 * 16000) + 400
    assert len(miner.mine(_loudness, min_score=quiet_score + 0.05, limit=2)) == 2
    assert miner.mine(_loudness, min_score=1.0, limit=10) == []


def test_a_mined_event_is_ranked_and_cut_at_its_peak_not_where_it_first_crossed():
    from models.recipe import hard_negatives
    from models.recipe.dataset import FEATURES

    swell = _tone_burst(4.0, {})
    t = np.arange(16000) / 16000
    swell[16000:32000] += (20000 * t**3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # 1 s crescendo
    miner = hard_negatives.Miner([swell], FEATURES, context_frames=0, before_s=1.0, after_s=0.2)
    quiet_score = float(_loudness(miner.features[0][:90]).max())
    [event] = miner.mine(_loudness, min_score=quiet_score + 0.05, limit=10)
    assert event.score == pytest.approx(float(_loudness(miner.features[0]).max()))
    assert np.abs(event.audio[event.peak - 800 : event.peak]).max() > 15000  # the loud end, not the onset


def test_mining_scores_long_streams_in_chunks_that_carry_the_model_s_context():
    from models.recipe import hard_negatives
    from models.recipe.dataset import FEATURES

    def remembers_50_frames(features):  # causal: each frame averages itself and the 49 before it
        energy = features.mean(1)
        return np.convolve(energy, np.ones(50) / 50)[: len(energy)]

    stream = _tone_burst(20.0, {3.0: 5000.0, 9.9: 20000.0, 15.0: 800.0})
    whole = hard_negatives.Miner([stream], FEATURES, context_frames=49, chunk_frames=10**6)
    chunked = hard_negatives.Miner([stream], FEATURES, context_frames=49, chunk_frames=300)
    expected = remembers_50_frames(whole.features[0])
    np.testing.assert_allclose(whole.scores(remembers_50_frames, 0), expected)
    np.testing.assert_allclose(chunked.scores(remembers_50_frames, 0), expected, rtol=1e-5, atol=1e-5)
    too_short = hard_negatives.Miner([stream], FEATURES, context_frames=10, chunk_frames=300)
    assert not np.allclose(too_short.scores(remembers_50_frames, 0), expected, atol=1e-3)


def test_merging_mined_pools_keeps_the_newest_and_one_entry_per_moment():
    from models.recipe.hard_negatives import HardNegative, merge

    def hard(source, score):
        return HardNegative(np.zeros(10, np.float32), 5, score, source)

    pool = merge([], [hard((0, 1), 0.9), hard((3, 0), 0.6)], limit=10)
    pool = merge(pool, [hard((0, 1), 0.4), hard((7, 2), 0.8)], limit=10)
    assert [(h.source, h.score) for h in pool] == [((0, 1), 0.4), ((7, 2), 0.8), ((3, 0), 0.6)]
    assert [h.source for h in merge(pool, [hard((9, 9), 0.5)], limit=2)] == [(9, 9), (0, 1)]


@pytest.mark.parametrize("seed", range(6))
def test_a_hard_negative_puts_the_moment_that_fired_where_a_positive_ends(seed):
    from models.recipe.augment import WindowMaker

    excerpt = _tone_burst(1.7, {1.2: 20000.0})[: int(1.5 * 16000)]  # the burst's onset 0.3 s before the end
    maker = WindowMaker(2.0, [np.zeros(16000, np.float32)], [np.zeros(16000, np.float32)], [], np.random.default_rng(seed))
    raw = maker.hard_negative(excerpt, peak=int(1.2 * 16000) + 160)
    assert raw.dtype == np.int16 and len(raw) == 32000  # as an ADC delivers it, like every training window
    window = raw.astype(np.float32)
    frames = np.sqrt(np.mean(window.reshape(-1, 160) ** 2, axis=1))
    onset = int(np.argmax(frames > 0.3 * frames.max())) * 160
    # Positive word ends lie between 40 % of the window and 0.35 s before its end.
    assert 0.4 * 32000 - 400 <= onset <= 32000 - 0.35 * 16000


@pytest.mark.parametrize("tempo_changes", [False, True])
def test_tempo_changes_reach_positives_and_negatives_alike_and_only_when_asked_for(monkeypatch, tempo_changes):
    from models.recipe import augment

    factors = []
    monkeypatch.setattr(augment, "tempo_change", lambda clip, factor: factors.append(factor) or clip)
    word = _tone_burst(0.8, {0.1: 8000.0})
    maker = augment.WindowMaker(2.0, [np.ones(16000, np.float32)], [word], [word], np.random.default_rng(3),
                                tempo_changes=tempo_changes)
    for _ in range(50):
        maker.positive(word)
    positives = len(factors)
    for _ in range(50):
        maker.negative(word)
    if not tempo_changes:
        assert factors == []  # and no random draw for it either: older seeds replay bit for bit
        return
    lo, hi = augment.TEMPO_RANGE
    assert 10 <= positives <= 30 and 10 <= len(factors) - positives <= 30  # TEMPO_PROB = 0.4 of 50 each
    assert all(lo <= f <= hi for f in factors)


def test_a_phone_line_passes_the_voice_band_and_cuts_the_low_end_and_the_top():
    pytest.importorskip("scipy")
    from models.recipe.evaluate import phone_line

    t = np.arange(16000) / 16000
    for low, high in ((200.0, 3200.0), (300.0, 3400.0), (400.0, 3700.0)):
        levels = {}
        for hz in (50.0, 1000.0, 6000.0):
            y = phone_line(np.sin(2 * np.pi * hz * t).astype(np.float32), low, high)
            levels[hz] = float(np.sqrt(np.mean(y[4000:] ** 2)) / np.sqrt(0.5))
        assert levels[1000.0] > 0.9
        assert levels[50.0] < 0.05 and levels[6000.0] < 0.05  # both more than 26 dB down


@pytest.mark.parametrize("metrics, row", [
    ({"recall_phone_line": 0.7867}, "| through a phone line (300–3400 Hz band-pass), clean | 0.787 |\n"),
    ({}, ""),  # older metrics: measured before the evaluation had the condition
])
def test_the_card_has_a_phone_line_row_exactly_when_the_metrics_do(metrics, row):
    pytest.importorskip("torch")  # the card imports the model's constants
    from models.recipe import model_card

    assert model_card._phone_line_row(metrics, "recall_phone_line", "through a phone line (300–3400 Hz band-pass), clean") == row


@pytest.mark.parametrize("metrics, says_rooms", [
    ({"training_data": {"simulated_rooms": 300, "vocal_tract_shift": True}}, True),  # today's train, with or without make
    ({"training_data": {}, "recipe": {"command": "make"}}, True),  # older metrics: make had them, nothing else did
    ({"training_data": {}}, False),  # 0.1.0's staged training had neither
])
def test_the_card_names_rooms_and_vocal_tract_shifts_exactly_when_the_run_had_them(metrics, says_rooms):
    pytest.importorskip("torch")  # the card imports the model's constants
    from models.recipe import model_card

    assert ("300 simulated shoebox rooms" in model_card._rooms_text(metrics)) == says_rooms
    assert ("vocal-tract-length shift" in model_card._vocal_tract_text(metrics)) == says_rooms


@pytest.mark.parametrize("data, says", [
    ({"tempo_change": {"share": 0.4, "factors": [0.9, 1.4]}}, "×0.9–1.4 the speed) of 40 % of the positives"),
    ({}, ""),  # older metrics: those runs had no tempo changes
])
def test_the_card_names_tempo_changes_exactly_when_the_run_had_them(data, says):
    pytest.importorskip("torch")  # the card imports the model's constants
    from models.recipe import model_card

    text = model_card._tempo_text({"training_data": data})
    assert (says in text) if says else text == ""


def _tone(seconds: float, rate: int, channels: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def test_recorded_training_music_is_cut_into_16_khz_pieces_and_cached(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    albums = tmp_path / "albums"
    albums.mkdir()
    soundfile.write(albums / "a.flac", _tone(50.0, 44100, 2), 44100)  # (writing long Ogg segfaults libsndfile)
    soundfile.write(albums / "b.wav", _tone(20.0, 8000, 1), 8000, subtype="PCM_16")
    (albums / "notes.xml").write_text("<playlist/>")  # not audio: skipped
    cache = tmp_path / "cache.npz"
    pieces, files = music.recorded_training_music([str(albums), str(tmp_path / "missing")], [str(tmp_path / "dev")], str(cache))
    assert files == [str(albums / "a.flac"), str(albums / "b.wav")]
    assert [len(p) / 16000 for p in pieces] == pytest.approx([30.0, 20.0, 20.0], abs=0.01)
    assert all(p.dtype == np.int16 and np.abs(p).max() > 9000 for p in pieces)
    again, _ = music.recorded_training_music([str(albums)], [str(tmp_path / "dev")], str(cache))
    assert all(np.array_equal(a, b) for a, b in zip(pieces, again))


def test_held_out_music_is_never_trained_on(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    dev = tmp_path / "wesnoth" / "music"
    dev.mkdir(parents=True)
    soundfile.write(dev / "battle.wav", _tone(1.0, 16000, 1), 16000)
    with pytest.raises(ValueError, match="held-out"):
        music.recorded_training_music([str(tmp_path / "wesnoth" / "music")], [str(tmp_path / "wesnoth")], str(tmp_path / "c.npz"))


@pytest.mark.parametrize("data, trained_on_recorded_music", [({"recorded_music_hours": 1.821}, True), ({}, False)])
def test_the_card_credits_recorded_music_exactly_when_it_was_trained_on(data, trained_on_recorded_music):
    pytest.importorskip("torch")  # the card imports the model's constants
    from models.recipe import model_card

    assert ("no recorded music is trained on" in model_card._recorded_music_text(data)) != trained_on_recorded_music
    credits = model_card._recorded_music_licences(data)
    assert all(name in credits for name in ("colobot", "Macroform", "asterisk-moh-opsound-wav")) == trained_on_recorded_music


@pytest.mark.parametrize("data, noise_words", [
    ({"noise_clips": 679, "noise_hours": 2.9, "recorded_noise_clips": 397, "recorded_noise_hours": 0.6,
      "procedural_music_hours": 0.5, "recorded_music_hours": 1.821}, "397 clips (0.6 h) of ESC-10"),
    ({"noise_clips": 457, "noise_hours": 1.1, "procedural_music_hours": 0.5}, "457 clips (1.1 h) of ESC-10"),  # older metrics
])
def test_the_card_counts_noise_clips_apart_from_music_pieces_when_the_metrics_do(data, noise_words):
    pytest.importorskip("torch")  # the card imports the model's constants
    from models.recipe import model_card

    text = model_card._background_text(data)
    assert noise_words in text and "0.5 h of procedural music" in text
    assert ("1.821 h of recorded music" in text) == ("recorded_music_hours" in data)


@pytest.mark.parametrize("channels, fits", [(64, True), (80, True), (96, False)])
def test_an_exported_model_of_any_width_streams_like_torch_and_must_fit_the_size_budget(tmp_path, channels, fits):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from models.recipe.export import export_onnx, verify
    from models.recipe.model import WakeWordTCN

    torch.manual_seed(0)
    model = WakeWordTCN(channels=channels).eval()
    path = str(tmp_path / "m.onnx")
    export_onnx(model, path, "alexa", "0.0.0", threshold=0.5)
    features = np.random.default_rng(0).standard_normal((300, 40)).astype(np.float32)  # longer than the receptive field
    if fits:
        assert verify(model, path, features)["max_abs_diff"] < 1e-4
    else:
        with pytest.raises(AssertionError, match="budget"):
            verify(model, path, features)


def test_an_ensemble_is_one_model_file_scoring_the_mean_of_its_networks_within_budget(tmp_path):
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    from firmware_py.model import load_model
    from models.recipe.evaluate import stream_scores
    from models.recipe.export import FLOAT16_TOLERANCE, export_onnx, open_session, verify
    from models.recipe.model import WakeWordTCN, frame_probabilities

    torch.manual_seed(0)
    members = [WakeWordTCN().eval() for _ in range(3)]
    for m in members:  # trained-looking normalisation, so the three networks' scores differ
        m.feature_mean.uniform_(-8, -2)
        m.feature_std.uniform_(1, 3)
    single, path = str(tmp_path / "one.onnx"), str(tmp_path / "three.onnx")
    export_onnx(members[0], single, "alexa", "0.0.0", threshold=0.5)
    export_onnx(members, path, "alexa", "0.0.0", threshold=0.5)
    features = np.random.default_rng(0).standard_normal((300, 40)).astype(np.float32) * 3 - 5
    check = verify(members, path, features)  # size budget, streaming in 16/1/7-frame calls, torch agreement
    assert 1e-6 < check["max_abs_diff"] < FLOAT16_TOLERANCE  # float16 weights: close, not equal
    assert check["bytes"] < 1.7 * os.path.getsize(single)  # three networks in little more than one's float32 size

    each = [frame_probabilities(m, features) for m in members]
    ensemble = stream_scores(open_session(path), features)
    assert np.abs(ensemble - np.mean(each, axis=0)[: len(ensemble)]).max() < FLOAT16_TOLERANCE
    assert min(np.abs(ensemble - e[: len(ensemble)]).max() for e in each) > 10 * FLOAT16_TOLERANCE  # no one network

    graph, one = onnx.load(path).graph, onnx.load(single).graph
    states = [i for i in graph.input if i.name.startswith("state_")]
    assert len(states) == 6 and states[1].type.tensor_type.shape.dim[1].dim_value == 3 * 64  # side by side
    def operations(g):
        return sorted(n.op_type for n in g.node if n.op_type not in ("Cast", "Constant", "Identity"))
    assert len(operations(graph)) == len(operations(one)) + 1  # one network's, and a copy of the features for each
    assert {i.data_type for i in graph.initializer if len(i.dims) > 1} == {onnx.TensorProto.FLOAT16}
    assert not any(n.op_type == "Cast" for n in one.node)  # one network: float32, as before

    model = load_model(path, allow_unsigned=True)  # the runtime loads it like any model (FORMAT.md)
    assert model.info.wake_word == "alexa"
    runtime = np.concatenate([model.step(features[i : i + 4]) for i in range(0, len(ensemble), 4)])  # other calls
    assert np.abs(runtime - ensemble).max() < 1e-5


@pytest.mark.parametrize("metrics, says", [
    ({"ensemble": {"networks": 3, "seeds": [1234, 1235, 1236]}}, "ensemble of 3 networks trained alike from different seeds (seeds 1234, 1235, 1236)"),
    ({"ensemble": {"networks": 2, "seeds": None}}, "ensemble of 2 networks trained alike from different seeds, in one graph"),
    ({}, ""),  # one network
])
def test_the_card_describes_an_ensemble_exactly_when_the_model_is_one(metrics, says):
    pytest.importorskip("torch")  # the card imports the model's constants
    from models.recipe import model_card

    text = model_card._ensemble_text(metrics)
    assert (says in text) if says else text == ""
    assert model_card._networks(metrics) == metrics.get("ensemble", {}).get("networks", 1)


@pytest.mark.parametrize("members, states, says", [
    (1, 6, "as 2-D convs over a 1 × T plane"),
    (3, 6, "the 3 networks side by side as one 3-times-wider network"),
])
def test_the_card_reads_the_layout_off_the_file(tmp_path, members, states, says):
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    from models.recipe import model_card
    from models.recipe.export import export_onnx
    from models.recipe.model import WakeWordTCN

    path = str(tmp_path / "m.onnx")
    export_onnx([WakeWordTCN() for _ in range(members)], path, "alexa", "0.0.0", threshold=0.5)
    text = model_card._layout_text(onnx.load(path), members)
    assert f"({states} states, zeros at start)" in text and says in text


def test_saved_weights_tell_their_width_so_a_re_export_builds_the_same_network(tmp_path):
    torch = pytest.importorskip("torch")
    from models.recipe.model import WakeWordTCN
    from models.recipe.train import load_weights

    path = str(tmp_path / "w.pt")
    saved = WakeWordTCN(channels=48)
    torch.save(saved.state_dict(), path)
    loaded = load_weights(path)  # load_state_dict is strict: every shape agrees
    assert loaded.conv_in.conv.out_channels == 48
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(), loaded.state_dict().values()))


def test_a_re_export_tells_the_training_its_networks_had_from_their_own_runs_metrics(tmp_path):
    pytest.importorskip("torch")
    from models.recipe.train import saved_training

    paths = []
    for seed, pool in ((1, 2900), (2, 3000)):
        (tmp_path / f"n{seed}-metrics.json").write_text(
            json.dumps({"training_data": {"windows_seen": 204800, "hard_negatives_mined": pool}}))
        paths.append(str(tmp_path / f"n{seed}.pt"))
    assert saved_training(paths) == {"windows_seen": 409600, "hard_negatives_mined": 3000}
    assert saved_training([*paths, str(tmp_path / "no-metrics.pt")]) == {"windows_seen": 0, "hard_negatives_mined": 0}
    (tmp_path / "n1-metrics.json").write_text("{not json")
    assert saved_training(paths)["windows_seen"] == 0


def _install_debian_speech(root, soundfile):
    """A tiny stand-in for two of the Debian packages: Asterisk prompts (with a silence file, a beep
    and a tone among them, as the real set has) and KLettres' spoken letters."""
    allison = root / "usr/share/asterisk/sounds/en_US_f_Allison"
    (allison / "digits").mkdir(parents=True)
    (allison / "silence").mkdir()
    soundfile.write(allison / "digits" / "1.wav", _tone(0.5, 8000, 1), 8000, subtype="PCM_16")
    soundfile.write(allison / "silence" / "1.wav", np.zeros(8000), 8000, subtype="PCM_16")
    soundfile.write(allison / "beep.wav", _tone(0.2, 8000, 1), 8000, subtype="PCM_16")
    soundfile.write(allison / "ascending-2tone.wav", _tone(0.2, 8000, 1), 8000, subtype="PCM_16")
    soundfile.write(allison / "digits" / "0.wav", np.zeros(0), 8000, subtype="PCM_16")  # one ships empty, too
    letters = root / "usr/share/klettres/de/alpha"
    letters.mkdir(parents=True)
    soundfile.write(letters / "a.ogg", _tone(0.25, 44100, 2), 44100)
    return allison, letters


def test_debian_speech_is_split_by_voice_without_silence_or_tones(tmp_path, monkeypatch):
    soundfile = pytest.importorskip("soundfile")
    from models.recipe import debian_speech

    monkeypatch.setattr(debian_speech, "ROOT", str(tmp_path / "root"))
    monkeypatch.setattr(debian_speech, "WORK_DIR", str(tmp_path / "work"))
    (tmp_path / "root").mkdir()
    assert debian_speech.load("dev") is None  # nothing installed: no stream, not an error
    allison, letters = _install_debian_speech(tmp_path / "root", soundfile)

    dev, train = debian_speech.load("dev"), debian_speech.load("train")
    assert list(dev.labels) == ["asterisk-core-sounds-en-wav"] and list(dev.speakers) == ["Allison Smith (en-US)"]
    assert list(train.labels) == ["klettres-data"]
    assert len(dev.clip(0)) == 8000 and len(train.clip(0)) == 4000  # both at 16 kHz
    assert dev.audio.dtype == np.int16 and np.abs(dev.audio).max() > 9000
    with pytest.raises(ValueError, match="split"):
        debian_speech.load("test")

    cache = tmp_path / "work" / "real" / "debian_speech_dev.npz"
    written = cache.stat().st_mtime_ns
    assert np.array_equal(debian_speech.load("dev").audio, dev.audio) and cache.stat().st_mtime_ns == written
    soundfile.write(allison / "digits" / "2.wav", _tone(0.25, 8000, 1), 8000, subtype="PCM_16")
    assert len(debian_speech.load("dev")) == 2  # another file installed: the cache is rebuilt


def test_each_debian_voice_is_in_one_split_only():
    from models.recipe import debian_speech

    splits: dict[str, set] = {}
    for source in debian_speech.SOURCES:
        splits.setdefault(source.voice.split(" (")[0], set()).add(source.split)
    assert all(len(s) == 1 for s in splits.values()), splits  # Allison Smith speaks en and es: both dev
    assert {s.split for s in debian_speech.SOURCES} == set(debian_speech.SPLITS)


def test_debian_dev_speech_is_never_trained_on_as_music(tmp_path, monkeypatch):
    soundfile = pytest.importorskip("soundfile")
    from models.recipe import debian_speech

    monkeypatch.setattr(debian_speech, "ROOT", str(tmp_path))
    allison, letters = _install_debian_speech(tmp_path, soundfile)
    held_out = debian_speech.dev_dirs()
    assert str(allison) in held_out and str(tmp_path / "usr/share/klettres") not in held_out
    with pytest.raises(ValueError, match="held-out"):  # e.g. WAKEGATE_TRAINING_MUSIC pointed at it
        music.recorded_training_music([str(allison / "digits")], held_out, str(tmp_path / "c.npz"))
