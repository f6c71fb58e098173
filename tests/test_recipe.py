"""The training recipe's pure parts (no torch, no TTS): music, rooms, which real clips are held out."""

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
