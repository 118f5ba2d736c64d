"""The service's C-allocator setting (devtools/native_heap.py) keeps asyncio's socket
read buffers out of glibc's heap, where they fragmented it (the soak's RSS creep).

Each test starts a real Python process, lets glibc raise its dynamic mmap threshold
as the service's own large blocks do (one 1 MiB block mmapped and freed), then reads
one small message through an asyncio transport over a real socket, and reports how
many mmapped blocks glibc holds while the data is being received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from devtools.native_heap import MALLOC_ENV

CHILD = r"""
import asyncio, ctypes, json, socket

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2

def mmapped_blocks():
    return libc.mallinfo2().hblks

async def main():
    loop = asyncio.get_running_loop()
    received = loop.create_future()

    class Reader(asyncio.Protocol):
        def data_received(self, data):
            # The read buffer is alive here: count it while it is.
            received.set_result((mmapped_blocks(), len(data)))

    ours, theirs = socket.socketpair()
    await loop.connect_accepted_socket(Reader, ours)
    big = bytes(1 << 20)  # mmapped (past 128 KiB); freeing it raises a dynamic threshold
    del big
    before = mmapped_blocks()
    theirs.send(b"x" * 100)
    during, size = await received
    print(json.dumps({"read_buffers_mmapped": during - before, "bytes": size}))

asyncio.run(main())
"""


def read_in_child(malloc_env: dict[str, str]) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env | malloc_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_socket_read_is_its_own_mapping_with_the_service_setting():
    assert read_in_child(MALLOC_ENV) == {"read_buffers_mmapped": 1, "bytes": 100}


def test_without_it_glibc_serves_the_read_buffer_from_the_heap():
    """The control: what the setting prevents happens without it (so the test above
    measures the setting, not something that is always so)."""
    assert read_in_child({}) == {"read_buffers_mmapped": 0, "bytes": 100}
