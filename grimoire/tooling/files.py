"""Writing files so that a reader never sees half of one and a crash never loses the old one."""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path):
    """Yields a temporary path beside `path`; when the block ends without error it replaces `path`.

    `os.replace` is atomic on one file system: a reader sees the old file or the new one, and a
    full disk or Ctrl-C while writing leaves the old file as it was (and no temporary file).
    """
    path = Path(path).expanduser()
    handle, temporary = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomically(path, text):
    """Writes `text` (UTF-8) to `path` through `replacing`; returns the path."""
    with replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path).expanduser()


def write_json_atomically(path, data):
    """`write_text_atomically` for JSON (indented, one trailing newline)."""
    return write_text_atomically(path, json.dumps(data, indent=2) + "\n")
