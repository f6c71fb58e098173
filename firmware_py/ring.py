"""Preallocated int16 ring buffer with zero-copy window reads.

Every sample is stored twice, at ``i % capacity`` and ``i % capacity + capacity``, so any window of
at most ``capacity`` samples is one contiguous slice of the backing array: reading a window never
copies and never allocates, and writing is two ``memcpy``s whatever the position.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("ring buffer capacity must be at least one sample")
        self.capacity = capacity
        self._data = np.zeros(2 * capacity, dtype=np.int16)
        self._readonly = self._data.view()  # windows are slices of this, so read-only for free
        self._readonly.flags.writeable = False
        self.written = 0  # samples written since creation; the newest sample is index written - 1
        self._zeroed_until = 0  # every sample index below this has been overwritten with zeros

    @property
    def oldest(self) -> int:
        """Index of the oldest sample that still holds audio (not yet aged out or zeroed)."""
        return max(self._zeroed_until, self.written - self.capacity)

    def write(self, block: np.ndarray) -> None:
        n = len(block)
        cap = self.capacity
        if n > cap:
            raise ValueError(f"block of {n} samples does not fit a ring of {cap}")
        pos = self.written % cap
        data = self._data
        if pos + n <= cap:
            data[pos : pos + n] = block
            data[pos + cap : pos + cap + n] = block
        else:
            first = cap - pos
            data[pos:cap] = block[:first]
            data[pos + cap :] = block[:first]
            data[: n - first] = block[first:]
            data[cap : cap + n - first] = block[first:]
        self.written += n

    def window(self, start: int, end: int) -> np.ndarray:
        """Samples [start, end) as a read-only view; valid until the next write or zeroing."""
        if not (self.oldest <= start <= end <= self.written):
            raise IndexError(f"window [{start}, {end}) is outside the retained [{self.oldest}, {self.written})")
        pos = start % self.capacity
        return self._readonly[pos : pos + (end - start)]

    def zero_before(self, index: int) -> None:
        """Overwrite every retained sample older than ``index`` with zeros."""
        index = min(index, self.written)
        start = self.oldest
        if index <= start:
            return
        cap = self.capacity
        pos, n = start % cap, index - start
        first = min(n, cap - pos)
        self._data[pos : pos + first] = 0
        self._data[pos + cap : pos + cap + first] = 0
        if first < n:
            self._data[: n - first] = 0
            self._data[cap : cap + n - first] = 0
        self._zeroed_until = index

    def clear(self) -> None:
        """Zero everything held; the sample count carries on."""
        self._data.fill(0)
        self._zeroed_until = self.written

    def holds_only_zeros(self) -> bool:
        return not self._data.any()
