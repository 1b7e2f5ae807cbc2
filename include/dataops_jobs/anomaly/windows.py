"""Sliding-window order statistics for the streaming detector.

Pure Python (``bisect`` + ``deque``), JSON-serialisable state, O(W) memmove per update at worst,
which is cheap for the window lengths used here (a few thousand points).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from typing import Any


class SortedWindow:
    """The last ``size`` values in arrival order and in sorted order, for O(log W) quantiles."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1, got {size}")
        self.size = size
        self._fifo: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._fifo)

    def push(self, value: float) -> None:
        """Add a value, evicting the oldest one when the window is full."""
        if len(self._fifo) == self.size:
            oldest = self._fifo.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]
        self._fifo.append(value)
        bisect.insort(self._sorted, value)

    def quantile(self, q: float) -> float:
        """Linear-interpolated quantile (numpy's default method); the window must be non-empty."""
        data = self._sorted
        position = min(max(q, 0.0), 1.0) * (len(data) - 1)
        low = math.floor(position)
        high = min(low + 1, len(data) - 1)
        return data[low] + (data[high] - data[low]) * (position - low)

    def count_below(self, value: float) -> int:
        """How many values in the window are strictly smaller than ``value``."""
        return bisect.bisect_left(self._sorted, value)

    def kth_largest(self, k: int) -> float:
        """The k-th largest value (k = 1 is the maximum), clipped to the window length."""
        return self._sorted[-min(k, len(self._sorted))]

    def kth_smallest(self, k: int) -> float:
        """The k-th smallest value (k = 1 is the minimum), clipped to the window length."""
        return self._sorted[min(k, len(self._sorted)) - 1]

    def recent(self, n: int) -> list[float]:
        """The last ``n`` values in arrival order."""
        if n >= len(self._fifo):
            return list(self._fifo)
        return list(self._fifo)[-n:]

    def to_state(self) -> dict[str, Any]:
        """JSON-safe state; the sorted view is rebuilt on load."""
        return {"size": self.size, "values": list(self._fifo)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SortedWindow:
        """Rebuild a window saved by :meth:`to_state`."""
        window = cls(int(state["size"]))
        values = [float(v) for v in state["values"]][-window.size:]
        window._fifo = deque(values)
        window._sorted = sorted(values)  # one C sort instead of an insort per value: states load fast
        return window
