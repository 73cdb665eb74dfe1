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


def written_by(path, generator, marker):
    """True when `path` is missing or a tool wrote it: a JSON object whose `"generator"` is `generator`,
    or a text file that starts with `marker`. What a tool did not write, it never rewrites."""
    path = Path(path)
    if not path.exists():
        return True
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".json":
        try:
            return json.loads(text).get("generator") == generator
        except (ValueError, AttributeError):
            return False
    return text.startswith(marker)


def refuse_foreign(out, names, generator, marker, what, command):
    """Raises FileExistsError for the first of `names` in the folder `out` that `command` did not write."""
    for name in names:
        if not written_by(Path(out) / name, generator, marker):
            raise FileExistsError(
                f"Argument `--out` must be a directory for {what}; {str(Path(out) / name)!r} exists and was not "
                f"written by `{command}`. Choose another directory, or move that file."
            )
