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
        # mkstemp's file is private (0600); the new file gets the old one's mode, or what the umask allows.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask())
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


def umask():
    """This process's umask (read without changing it for good)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
