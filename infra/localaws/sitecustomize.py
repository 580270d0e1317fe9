# Loaded by Python at start-up (via PYTHONPATH) in every moto server localaws.StartMoto starts, before
# the server module runs: StartMoto deletes this file once the server answers.
import inspect
import os
import sys
import threading
import time

# The parent watch. StartMoto puts the server in a process group of its own, so that a Ctrl-C at the
# terminal reaches only the Go process, which then stops the server in order. If that process dies
# without stopping it (a second Ctrl-C, a panic, go test's timeout, SIGKILL), only Linux's
# parent-death signal would kill the server; on macOS it would keep running and hold its port.
# So the server exits once its parent is gone: an orphan is re-parented (to init or a subreaper),
# which os.getppid() shows. StartMoto passes its pid so that this watches that process, not a
# wrapper that forked the interpreter instead of exec'ing it (pyenv's shims exec).


def _watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)  # the parent is gone: no one reads our output or will stop us


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


_parent = os.environ.pop("CODEX_MOTO_PARENT_PID", "")  # not for anything this process starts
if _parent.isdigit():
    _parent = int(_parent)
    if os.getppid() == _parent:
        threading.Thread(target=_watch_parent, args=(_parent,), name="codex-parent-watch", daemon=True).start()
    elif not _alive(_parent):
        os._exit(1)  # the parent died while this interpreter was starting
    else:
        print(
            f"codex: the moto server's parent is process {os.getppid()}, not process {_parent} that started it "
            f"(through a wrapper that forks?), so it will not exit on its own if process {_parent} dies",
            file=sys.stderr,
            flush=True,
        )

# DynamoDB serialised. moto's server is threaded and its DynamoDB backend has no lock:
# TransactWriteItems deep-copies the tables, applies its items and, if a condition fails, restores
# the copy. Two concurrent requests can therefore both pass a condition, and a failed transaction
# can erase writes that other requests committed meanwhile. Real DynamoDB is linearizable per item
# and transactions are atomic, so concurrency tests would fail on moto for moto's sake. Serialising
# DynamoDB requests gives moto DynamoDB's guarantees (at the cost of parallelism a test server does
# not need).
# The patch is checked, never skipped: a moto whose version or layout no longer fits it would pass
# the concurrency tests by luck or fail them for moto's sake, so the server refuses to start and
# StartMoto turns the line printed here into an error that says what to install. Only a missing
# moto is left to `-m moto.server` itself, whose "No module named" StartMoto reports as such.


def _refuse(kind, detail):
    print(f"codex-moto-{kind}: {detail}", file=sys.stderr, flush=True)
    os._exit(3)


def _patch():
    try:
        import moto
    except ImportError:
        return False
    want = os.environ.pop("CODEX_MOTO_VERSION", "")
    found = getattr(moto, "__version__", "unknown")
    if want and found != want:
        _refuse("version", f"found {found}")
    try:
        from moto.dynamodb.responses import DynamoHandler
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("moto"):
            return False  # a server extra (werkzeug, flask): the server fails with "No module named"
        _refuse("layout", f"moto.dynamodb.responses.DynamoHandler: {e}")
    except Exception as e:
        _refuse("layout", f"moto.dynamodb.responses.DynamoHandler: {type(e).__name__}: {e}")
    call_action = getattr(DynamoHandler, "call_action", None)
    if not callable(call_action) or list(inspect.signature(call_action).parameters) != ["self"]:
        _refuse("layout", "DynamoHandler.call_action(self) is gone")

    lock = threading.Lock()

    def serialised_call_action(self):
        with lock:
            return call_action(self)

    DynamoHandler.call_action = serialised_call_action
    return True


if _patch():
    # Read by StartMoto once the server answers: proof that this file ran and patched moto.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "patched"), "w") as f:
        f.write("ok\n")
