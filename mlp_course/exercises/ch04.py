"""The checks of chapter 4's coding exercises, keyed by exercise label."""

from __future__ import annotations
