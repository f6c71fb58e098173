import numpy as np
import pytest

from firmware_py.ring import RingBuffer


def test_window_is_a_view_and_matches_history_across_wraps():
    ring = RingBuffer(1000)
    stream = np.arange(5000, dtype=np.int16)
    for start in range(0, 5000, 160):
        ring.write(stream[start : start + 160])
        end = ring.written
        begin = max(0, end - 1000)
        window = ring.window(begin, end)
        assert np.array_equal(window, stream[begin:end])
        assert np.shares_memory(window, ring._data)  # zero-copy


def test_window_outside_the_retained_range_is_refused():
    ring = RingBuffer(100)
    ring.write(np.ones(150, np.int16)[:100])
    ring.write(np.ones(50, np.int16))
    with pytest.raises(IndexError):
        ring.window(10, 60)
    with pytest.raises(IndexError):
        ring.window(140, 160)


def test_window_is_read_only():
    ring = RingBuffer(10)
    ring.write(np.ones(5, np.int16))
    with pytest.raises(ValueError):
        ring.window(0, 5)[0] = 3


@pytest.mark.parametrize("cutoff", [0, 1, 37, 99, 100])
def test_zero_before_overwrites_both_copies(cutoff):
    ring = RingBuffer(64)
    ring.write(np.full(50, 7, np.int16))
    ring.write(np.full(50, 9, np.int16))  # wraps
    ring.zero_before(cutoff)
    assert ring.oldest == max(cutoff, 36)
    kept = ring.window(ring.oldest, ring.written)
    assert (kept != 0).all()
    # Every stored copy of an aged-out sample is zero: only the kept samples remain anywhere.
    assert np.count_nonzero(ring._data) == 2 * len(kept)


def test_clear_zeroes_everything_and_keeps_counting():
    ring = RingBuffer(32)
    ring.write(np.full(20, 5, np.int16))
    ring.clear()
    assert ring.holds_only_zeros()
    assert ring.written == 20 and ring.oldest == 20
    ring.write(np.full(4, 1, np.int16))
    assert np.array_equal(ring.window(20, 24), np.ones(4))


def test_block_larger_than_the_ring_is_refused():
    with pytest.raises(ValueError):
        RingBuffer(10).write(np.zeros(11, np.int16))
