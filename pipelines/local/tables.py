"""Plain-text tables for the CLI: columns padded to their widest cell."""

from __future__ import annotations


def table(rows: list[list[str]]) -> list[str]:
    """Rows as lines, each column padded to its widest cell (the last one is not)."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip() for r in rows
    ]
