"""The warm checker: one background process that answers `exercises check` from any shell.

A new process pays for Python and TensorFlow (about 10 s on 2 cores) before it runs the first test.
The warm checker pays once: `exercises init` and a check that ran cold start it in the background,
and every later `grimoire exercises check DIR --claim ID` (or `--section S`) hands its question over
a Unix socket and prints the answer, about a second later. Gradle's and Bazel's daemons work this way.

It is one process per (Python, project, backend and numerics settings): a check asked with another
`KERAS_BACKEND` or oneDNN setting finds no checker of its own and runs cold. It stops by itself after
`IDLE_SECONDS` without a question, when the project's own code changes (its answers would be about
the old code), or with `grimoire exercises stop`. `--no-server` or `GRIMOIRE_CHECK_SERVER=0` turn it
off. Between checks the learner's package is imported afresh (`runner.forget_package`), as in
`--watch`.

Protocol: the client sends one JSON line, `{"job": "check", "impl", "section", "claim"}` (also
`"list"` with `impl`, `"solution"` with `impl` and `function`) or `{"command": "stop"}`; the server
answers with one JSON object, `{"code", "output"}` (or `{"declined": reason}`), and closes.
"""

import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from stat import S_ISDIR as stat_is_dir

from ..claims import installed_versions
from ..project import keras_backend, project_root, split_cpu

try:
    import fcntl
except ImportError:  # Windows: no flock, and Python's AF_UNIX support there is partial; checks run cold
    fcntl = None

IDLE_SECONDS = 15 * 60  # a learner reading the docs for a while still finds it warm
OFF = "GRIMOIRE_CHECK_SERVER"  # "0" turns the warm checker off (set for the spec's own runs)
RUNTIME_DIR = "GRIMOIRE_RUNTIME_DIR"  # where sockets live (default: $XDG_RUNTIME_DIR or the temp dir)
MAX_SOCKET_PATH = 100
# The settings that change a verdict or what runs: a checker serves only clients that share them.
SETTINGS = ("KERAS_BACKEND", "TF_", "ONEDNN_", "CUDA_VISIBLE_DEVICES", "XLA_", "JAX_", "HYPOTHESIS", "PYTHONHASHSEED")


def enabled():
    """Whether checks may ask and start a checker: not turned off, and on a system with Unix sockets."""
    if fcntl is None or not hasattr(socket, "AF_UNIX"):
        return False
    return os.environ.get(OFF, "1").strip().lower() not in ("0", "false", "no", "off")


def identity(environ):
    """What a checker must share with a client: Python, project, the settings above, and the Keras
    backend as Keras would pick it (KERAS_BACKEND, else $KERAS_HOME/keras.json or ~/.keras/keras.json)."""
    settings = sorted((k, v) for k, v in environ.items() if k.startswith(SETTINGS) and k != OFF)
    return json.dumps([sys.executable, str(project_root()), settings, keras_backend(environ)])


def socket_path(environ=None):
    """The socket of the checker for this identity, in a directory only this user can enter.

    AF_UNIX paths are limited to about 100 bytes (104 on macOS, 108 on Linux); under a longer runtime
    directory the socket goes to /tmp, under a name that still depends on the directory asked for.
    """
    environ = os.environ if environ is None else environ
    base = Path(environ.get(RUNTIME_DIR) or environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    key = hashlib.sha256(f"{identity(environ)}\0{base}".encode()).hexdigest()[:16]
    name = Path(f"grimoire-{os.getuid()}", f"check-{key}.sock")
    return base / name if len(os.fsencode(base / name)) <= MAX_SOCKET_PATH else Path("/tmp") / name


def _private_dir(path, create=True):
    """Creates `path` (mode 700) or checks that it is ours and private; a shared one (or a symlink,
    which another user may have planted in /tmp) is refused."""
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not stat_is_dir(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{path} must belong to you and be closed to others (mode 700); not using it.")
    return path


def fingerprint(root):
    """The project's own code as (count, newest mtime) and the installed releases it runs on: a change
    means answers about old code, or from libraries no longer installed."""
    files = [root / "conftest.py", root / "pyproject.toml"]
    for folder in ("grimoire", "spec"):
        files += (root / folder).rglob("*.py")
        files += (root / folder).rglob("*.toml")
    stamps = [f.stat().st_mtime_ns for f in files if f.is_file()]
    packages = ("keras", "tensorflow", "jax", "numpy", "hypothesis", "pytest")
    releases = installed_versions(packages)
    return len(stamps), max(stamps, default=0), tuple(releases.get(p) for p in packages)


# --- the client -------------------------------------------------------------------------------


def ask(request, path=None):
    """Sends `request` to the running checker; returns its answer, or None when none answers.

    None also when the checker declines (the project changed, it is stopping) or dies mid-check:
    the caller then checks in its own process.
    """
    path = path or socket_path()
    if not path.exists():
        return None
    try:
        _private_dir(path.parent, create=False)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2.0)
            conn.connect(str(path))
            if not _same_user(conn):
                return None
            conn.settimeout(None)  # a section's check may take minutes
            conn.sendall(json.dumps(request).encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            data = b"".join(iter(lambda: conn.recv(65536), b""))
    except OSError:  # refused (a socket left by a dead checker), timed out, reset; a foreign directory
        return None
    try:
        answer = json.loads(data)
    except ValueError:
        return None
    return None if "declined" in answer else answer


def _same_user(conn):
    """Whether the process at the other end of `conn` runs as this user (Linux: SO_PEERCRED)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True  # elsewhere the mode-700 directory is the guard
    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid == os.getuid()


def start(path=None, *, idle=IDLE_SECONDS, environ=None):
    """Starts a checker in the background (its own session, output to a log); returns its Popen.

    `environ`: the environment it runs with (default: this process's), without pytest's variables.
    """
    path = path or socket_path()
    _private_dir(path.parent)
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if not k.startswith("PYTEST_")}
    log = open(path.with_suffix(".log"), "wb")  # noqa: SIM115: the child keeps it; this checker's run only
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", "grimoire.tooling.exercises.server", "--socket", str(path), "--idle", str(idle)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=project_root(), env=env,
        )


def wait_until_ready(process, path, timeout):
    """Waits for the checker `start` returned to answer a ping; raises RuntimeError if it exits or times out."""
    deadline = time.monotonic() + timeout
    while ask({"command": "ping"}, path) is None:
        if process.poll() is not None:
            raise RuntimeError(f"the checker exited: {path.with_suffix('.log').read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the checker did not answer a ping within {timeout} s")
        time.sleep(0.2)


def pid(path=None):
    """The process id of the checker serving `path`, or None."""
    try:
        return int((path or socket_path()).with_suffix(".pid").read_text())
    except (OSError, ValueError):
        return None


def stop(path=None):
    """Asks the checker to stop; returns True if one was running."""
    return ask({"command": "stop"}, path) is not None


# --- the server -------------------------------------------------------------------------------


class Checker:
    """Answers requests in this process; `serve` feeds it from the socket."""

    def __init__(self, root, fingerprint_of=fingerprint):
        self.root, self.fingerprint_of = root, fingerprint_of
        self.code = fingerprint_of(root)
        self.running = True

    def handle(self, request):
        if request.get("command") == "stop":
            self.running = False
            return {"code": 0, "output": "stopped"}
        if request.get("command") == "ping":
            return {"code": 0, "output": "ready"}
        if self.fingerprint_of(self.root) != self.code:
            self.running = False
            return {"declined": "the project's code or its libraries changed since this checker started"}
        if not isinstance(request.get("impl"), str) or request.get("job", "check") not in JOBS:
            return {"declined": f"a question needs `impl`, a path, and a job among {sorted(JOBS)}. Received: {request!r}"}
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            try:
                code = JOBS[request.get("job", "check")](request)
            except ValueError as error:  # a bad selection: the client exits with it, as a cold check does
                return {"code": 2, "error": str(error), "output": output.getvalue()}
        return {"code": code, "output": output.getvalue()}


def _check(request):
    from .check import check

    return check(request["impl"], section=request.get("section"), claim=request.get("claim"), tip=False)


def _list(request):
    from .guide import list_claims

    print(list_claims(request["impl"]))
    return 0


def _solution(request):
    from .guide import solution

    code, text = solution(str(request.get("function")), impl=request["impl"])
    print(text)
    return code


# What a client may ask (`job`), each printing its answer: a check, the list of claims, a solution.
JOBS = {"check": _check, "list": _list, "solution": _solution}


def warm_up():
    """Checks one claim of a throwaway learner's package, quietly: TensorFlow, pytest, the spec's conftest
    and plugin are then loaded, so a learner's first question waits for its own tests only."""
    from .check import run_check
    from .generate import write_exercises

    split_cpu()  # before TensorFlow starts: `metric-distributed` needs two CPUs

    with tempfile.TemporaryDirectory(prefix="grimoire-warm-up-") as tmp:
        write_exercises(Path(tmp) / "warm", keep=["params.dense_params"])
        run_check(Path(tmp) / "warm", ["dense-params-formula"])


def serve(path, *, idle=IDLE_SECONDS, warm=True, checker=None):
    """Listens on `path` until stopped, idle for `idle` seconds, or the project changes.

    A second checker for the same socket sees the lock held and returns at once.
    """
    path = Path(path)
    _private_dir(path.parent)
    lock = open(path.with_suffix(".lock"), "w")  # noqa: SIM115: held for the checker's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "another checker serves this socket"
    checker = checker or Checker(project_root())
    path.unlink(missing_ok=True)  # left by a checker that was killed
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        try:
            listener.bind(str(path))
        except OSError as error:  # a path too long, a full disk: checks simply run cold
            lock.close()
            return f"cannot listen on {path}: {error}"
        listener.listen(8)  # bound before warming up: an early client waits here, not in a cold run
        path.with_suffix(".pid").write_text(f"{os.getpid()}\n")  # for a client that gives up waiting
        try:
            if warm:
                warm_up()
            listener.settimeout(idle)
            while checker.running:
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    return "idle"
                with conn:
                    _answer(conn, checker)
        finally:
            path.unlink(missing_ok=True)
            path.with_suffix(".pid").unlink(missing_ok=True)
            lock.close()
    return "stopped"


def _answer(conn, checker):
    conn.settimeout(10)
    try:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        request = json.loads(data)
    except (OSError, ValueError):
        return
    started = time.monotonic()
    if not isinstance(request, dict):
        request = {"malformed": request}
    try:
        answer = checker.handle(request)
    except Exception as error:  # noqa: BLE001: one bad question must not end the checker; the client checks cold
        print(f"grimoire checker: {type(error).__name__}: {error} (request {request!r})", flush=True)
        answer = {"declined": f"{type(error).__name__}: {error}"}
    answer["seconds"] = round(time.monotonic() - started, 2)
    conn.settimeout(None)
    with contextlib.suppress(OSError):  # the client gave up (Ctrl-C): nobody to tell
        conn.sendall(json.dumps(answer).encode())


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grimoire.tooling.exercises.server", description=__doc__.split("\n")[0])
    parser.add_argument("--socket", type=Path, default=None, help="socket path (default: this identity's)")
    parser.add_argument("--idle", type=float, default=IDLE_SECONDS, help="seconds without a question before it stops")
    parser.add_argument("--no-warm-up", action="store_true", help="import TensorFlow at the first question, not now")
    args = parser.parse_args(argv)
    os.environ[OFF] = "0"  # the checker's own checks must not start checkers
    path = args.socket or socket_path()

    def end(signum, frame):  # SIGTERM (a client stopped waiting, or `kill`): leave no socket or pid file behind
        path.unlink(missing_ok=True)
        path.with_suffix(".pid").unlink(missing_ok=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, end)
    why = serve(path, idle=args.idle, warm=not args.no_warm_up)
    print(f"grimoire checker {os.getpid()}: {why}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
