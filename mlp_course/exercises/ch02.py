"""The checks of chapter 2's coding exercises, keyed by exercise label."""

from __future__ import annotations
