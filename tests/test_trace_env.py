"""_X_AMZN_TRACE_ID per invocation: seen by Python, C and child processes; no leak.

(That the app sees each invocation's trace id through the runtime is in
test_lambda_runtime.py.) Each check runs in a process of its own: the variable
is process-wide.
"""

import subprocess
import sys

SEEN_EVERYWHERE = """
import ctypes, os, subprocess
from handler.lambda_runtime.loop import TraceVariable

getenv = ctypes.CDLL(None).getenv
getenv.restype = ctypes.c_char_p
trace = TraceVariable()
for value in ("Root=1-5f84c7a1-a1b2c3d4e5f6a7b8c9d0e1f2;Sampled=1", "Root=1-2;Sampled=0"):
    trace.set(value)
    assert os.environ["_X_AMZN_TRACE_ID"] == value
    assert getenv(b"_X_AMZN_TRACE_ID") == value.encode()
    child = subprocess.run(["sh", "-c", 'printf %s "$_X_AMZN_TRACE_ID"'], capture_output=True)
    assert child.stdout == value.encode(), child.stdout
trace.set(None)
assert "_X_AMZN_TRACE_ID" not in os.environ
assert getenv(b"_X_AMZN_TRACE_ID") == b""
trace.set("x" * (TraceVariable.CAPACITY + 1))  # too long to hold: none rather than cut
assert "_X_AMZN_TRACE_ID" not in os.environ
print("ok")
"""

NO_GROWTH = """
import os, sys
from handler.lambda_runtime.loop import TraceVariable

def rss_kib():
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0])

def value(i):
    return f"Root=1-{i:08x}-{i:024x};Parent={i:016x};Sampled=1"

if sys.argv[1] == "ours":
    set_trace = TraceVariable().set
else:
    def set_trace(v):
        os.environ["_X_AMZN_TRACE_ID"] = v

for i in range(1000):  # warm-up
    set_trace(value(i))
before = rss_kib()
for i in range(1000, 51000):
    set_trace(value(i))
print(rss_kib() - before)
"""


def _run(code: str, *args: str, repo_root) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_trace_id_is_seen_by_python_c_and_children(repo_root):
    assert _run(SEEN_EVERYWHERE, repo_root=repo_root) == "ok"


def test_distinct_trace_ids_do_not_grow_memory(repo_root):
    # The check can tell: os.environ's setenv keeps every value (about 7 MiB here).
    assert int(_run(NO_GROWTH, "setenv", repo_root=repo_root)) > 4096
    assert int(_run(NO_GROWTH, "ours", repo_root=repo_root)) < 256
