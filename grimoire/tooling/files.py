"""Writing files so that a reader never sees half of one and a crash never loses the old one."""

import json
import os
import tempfile
from pathlib import Path


def write_text_atomically(path, text):
    """Writes `text` to `path` through a temporary file in the same folder and a rename.

    `os.replace` is atomic on one file system: a reader sees the old file or the new one, and a
    full disk or Ctrl-C while writing leaves the old file as it was.
    """
    path = Path(path).expanduser()
    handle, temporary = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json_atomically(path, data):
    """`write_text_atomically` for JSON (indented, one trailing newline)."""
    return write_text_atomically(path, json.dumps(data, indent=2) + "\n")
