"""Insert or replace B's section of geodata/SOURCES.md from tools/geodata/SOURCES_b.md.

The section starts at the heading '## Middle Corridor, North–South and East–West layers'
and runs to the next '## ' heading (or the end of the file).  Other sections are left
byte-for-byte unchanged.  Load-modify-save with an atomic replace.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "geodata" / "SOURCES.md"
MINE = ROOT / "tools" / "geodata" / "SOURCES_b.md"
HEADING = "## Middle Corridor, North–South and East–West layers"


def main(create: bool = False) -> int:
    section = MINE.read_text(encoding="utf-8").rstrip("\n") + "\n"
    if not TARGET.exists():
        if not create:
            print("geodata/SOURCES.md does not exist yet (use --create)")
            return 1
        text = ""
    else:
        text = TARGET.read_text(encoding="utf-8")  # re-read right before writing
    start = text.find(HEADING)
    if start >= 0:
        m = re.compile(r"^## (?!#)", re.MULTILINE).search(text, start + len(HEADING))
        end = m.start() if m else len(text)
        new = text[:start] + section + ("\n" if m else "") + text[end:]
    else:
        new = text.rstrip("\n") + ("\n\n" if text.strip() else "") + section
    fd, tmp = tempfile.mkstemp(dir=TARGET.parent, prefix="SOURCES.md", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, TARGET)
    print(f"SOURCES.md: B section {'replaced' if start >= 0 else 'appended'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(create="--create" in sys.argv))
