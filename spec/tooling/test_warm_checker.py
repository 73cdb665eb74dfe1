"""The warm checker answers `exercises check` from a new shell, and never with a stale or foreign answer."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from pathlib import Path

import pytest

from grimoire.tooling.exercises import generate, server

pytestmark = pytest.mark.tooling

READY_WITHIN = 300  # seconds: a checker importing TensorFlow on a loaded 2-core machine (a bound, not a measurement)


@pytest.fixture
def runtime():
    """A short runtime directory of this test's own (pytest's tmp paths are too long for a socket)."""
    folder = Path(tempfile.mkdtemp(prefix="gw-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _private(runtime):
    """An environment whose checkers live in `runtime`, switched on (the spec's runs switch them off)."""
    return {**os.environ, server.RUNTIME_DIR: str(runtime), server.OFF: "1"}


def test_each_backend_and_numerics_setting_has_its_own_private_socket(runtime):
    """A checker serves only clients that share its Python, project and settings, in a mode-700 directory."""
    env = _private(runtime)
    tensorflow = server.socket_path(environ={**env, "KERAS_BACKEND": "tensorflow"})

    assert server.socket_path(environ={**env, "KERAS_BACKEND": "tensorflow"}) == tensorflow
    assert server.socket_path(environ={**env, "KERAS_BACKEND": "jax"}) != tensorflow
    assert server.socket_path(environ={**env, "KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "0"}) != tensorflow
    assert server.socket_path(environ={**env, "KERAS_BACKEND": "tensorflow", server.OFF: "1"}) == tensorflow
    assert tensorflow.parent.parent == runtime
    server._private_dir(tensorflow.parent)
    assert tensorflow.parent.stat().st_mode & 0o777 == 0o700


def test_a_long_runtime_directory_still_gets_a_socket_of_its_own(tmp_path):
    """AF_UNIX paths stop near 100 bytes: a deep directory (pytest's, macOS' TMPDIR) falls back to /tmp."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    path = server.socket_path(environ={**os.environ, server.RUNTIME_DIR: str(deep)})
    other = server.socket_path(environ={**os.environ, server.RUNTIME_DIR: str(deep / "f")})

    assert len(os.fsencode(path)) <= server.MAX_SOCKET_PATH and path.parent.parent == Path("/tmp")
    assert path != other  # still one socket per directory asked for: a test's checker is never a learner's


def test_a_runtime_directory_others_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)

    with pytest.raises(PermissionError, match="mode 700"):
        server._private_dir(shared)
    planted = tmp_path / "planted"  # a symlink another user could leave in /tmp
    planted.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    with pytest.raises(PermissionError, match="mode 700"):
        server._private_dir(planted)


def test_without_a_checker_the_client_gets_no_answer(tmp_path):
    """No socket, or a socket file no process listens on (left by a killed checker): the check runs cold."""
    path = tmp_path / "check.sock"
    assert server.ask({"command": "ping"}, path) is None

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))  # bound, never listening: what a killed checker leaves
    assert path.exists()
    assert server.ask({"command": "ping"}, path) is None


class Recorder:
    """A checker's `handle` without pytest: it records the requests it answers."""

    def __init__(self):
        self.running, self.requests = True, []

    def handle(self, request):
        self.requests.append(request)
        if request.get("command") == "stop":
            self.running = False
        return {"code": 0, "output": f"answered {request}"}


def _serve_in_thread(path, checker, idle=60.0):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("why", server.serve(path, idle=idle, warm=False, checker=checker)))
    thread.start()
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread, result


def test_one_checker_per_socket_and_it_cleans_up_when_stopped(tmp_path):
    path = tmp_path / "run" / "check.sock"
    checker = Recorder()
    thread, result = _serve_in_thread(path, checker)

    answer = server.ask({"impl": "/somewhere", "claim": "dense-params-formula"}, path)
    serving = server.pid(path)
    second = server.serve(path, idle=1, warm=False, checker=Recorder())  # the lock is held: leaves at once
    assert server.stop(path)
    thread.join(30)

    assert answer["code"] == 0 and "dense-params-formula" in answer["output"] and answer["seconds"] >= 0
    assert second == "another checker serves this socket"
    assert result["why"] == "stopped" and not path.exists()
    assert serving == os.getpid() and server.pid(path) is None  # the pid file lives as long as the checker
    assert checker.requests[-1] == {"command": "stop"}


def test_an_idle_checker_stops_by_itself(tmp_path):
    path = tmp_path / "run" / "check.sock"
    thread, result = _serve_in_thread(path, Recorder(), idle=0.2)
    thread.join(30)

    assert result["why"] == "idle" and not path.exists()


def test_a_malformed_question_is_declined_and_the_checker_goes_on(tmp_path):
    path = tmp_path / "run" / "check.sock"
    checker = server.Checker(tmp_path, fingerprint_of=lambda root: 1)
    thread, result = _serve_in_thread(path, checker)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(path))
        conn.sendall(b"null\n")
        conn.shutdown(socket.SHUT_WR)
        reply = json.loads(b"".join(iter(lambda: conn.recv(65536), b"")))
    still = server.ask({"command": "ping"}, path)
    server.stop(path)
    thread.join(30)

    assert "declined" in reply and still["output"] == "ready" and result["why"] == "stopped"


def test_a_checker_declines_once_the_project_code_changes(tmp_path):
    """Its loaded spec and reference would be the old ones: it says no, stops, and the client runs cold."""
    stamp = [1]
    checker = server.Checker(tmp_path, fingerprint_of=lambda root: stamp[0])
    assert checker.handle({"command": "ping"}) == {"code": 0, "output": "ready"}

    stamp[0] = 2
    answer = checker.handle({"impl": str(tmp_path), "claim": "dense-params-formula"})

    assert "declined" in answer and not checker.running


def test_the_fingerprint_moves_when_a_spec_or_reference_file_changes(tmp_path):
    for folder in ("grimoire", "spec"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.py").write_text("x = 1\n")
    before = server.fingerprint(tmp_path)
    later = time.time() + 5
    os.utime(tmp_path / "spec" / "a.py", (later, later))
    touched = server.fingerprint(tmp_path)
    (tmp_path / "grimoire" / "b.py").write_text("")
    added = server.fingerprint(tmp_path)

    assert before != touched != added


@pytest.fixture
def learner(tmp_path):
    mine = tmp_path / "mine"
    generate.write_exercises(mine, keep=["params.dense_params"])
    return mine


def _cli(env, *args):
    return subprocess.run([sys.executable, "-m", "grimoire.tooling.cli", "exercises", *args],
                          capture_output=True, text=True, env=env, timeout=READY_WITHIN)


def test_a_new_shell_gets_its_verdict_from_the_warm_checker(runtime, learner):
    """init's checker answers later checks: the verdict, the solution, the list, then a wrong formula's failure after a save."""
    env = _private(runtime)
    path = server.socket_path(environ=env)
    process = server.start(path, idle=120, environ=env)
    try:
        server.wait_until_ready(process, path, READY_WITHIN)

        first = _cli(env, "check", str(learner), "--claim", "dense-params-formula")
        solution = _cli(env, "solution", "params.dense_params", "--dir", str(learner))
        listed = _cli(env, "list", str(learner))
        params = learner / "params.py"
        text = params.read_text(encoding="utf-8")
        written = "return input_size * output_size + (output_size if use_bias else 0)"
        assert written in text
        params.write_text(text.replace(written, "return input_size * output_size"), encoding="utf-8")
        second = _cli(env, "check", str(learner), "--claim", "dense-params-formula")
        wrong = _cli(env, "check", str(learner), "--claim", "no-such-claim")
        stopped = _cli(env, "stop")
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
        stray = server.pid(path)  # a checker a cold fallback may have started
        if stray:
            with contextlib.suppress(OSError):
                os.kill(stray, signal.SIGKILL)

    assert "answered by the warm checker" in first.stdout and "verified  dense-params-formula" in first.stdout, first.stdout + first.stderr
    assert first.returncode == 0
    assert "answered by the warm checker" in solution.stdout and solution.returncode == 0, solution.stdout + solution.stderr
    assert solution.stdout.index("# Yours") < solution.stdout.index("# The reference's")
    assert "answered by the warm checker" in listed.stdout and "verified  dense-params-formula" in listed.stdout, listed.stdout
    assert "answered by the warm checker" in second.stdout and "failing   dense-params-formula" in second.stdout, second.stdout
    assert "actual (your code):" in second.stdout and second.returncode != 0
    assert wrong.returncode == 1 and "grimoire exercises check: Argument `claim` must be a claim id" in wrong.stderr
    assert "stopped" in stopped.stdout and process.returncode == 0 and not path.exists()
