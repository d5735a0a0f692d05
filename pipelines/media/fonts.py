"""The committed fonts. Everything that draws text (libass, Pillow) uses these, never system fonts."""

from __future__ import annotations

from pathlib import Path

FONTS_DIR: Path = Path(__file__).resolve().parent.parent / "assets" / "fonts"
REGULAR: Path = FONTS_DIR / "DejaVuSans.ttf"
BOLD: Path = FONTS_DIR / "DejaVuSans-Bold.ttf"
FAMILY = "DejaVu Sans"
