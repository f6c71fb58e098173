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
