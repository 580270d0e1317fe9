# Loaded by Python at start-up (via PYTHONPATH) in every moto server localaws.StartMoto starts, before
# the server module runs: StartMoto deletes this file once the server answers.
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
try:
    from moto.dynamodb.responses import DynamoHandler
except Exception:  # an unexpected moto layout: run unpatched rather than not at all
    DynamoHandler = None

if DynamoHandler is not None:
    _lock = threading.Lock()
    _call_action = DynamoHandler.call_action

    def _serialised_call_action(self):
        with _lock:
            return _call_action(self)

    DynamoHandler.call_action = _serialised_call_action
