"""The C allocator's settings the service is started with, wherever it runs.

glibc reads them once, when the process starts, so they live in the environment
of whatever starts it: the Lambda function's environment (terraform), `make dev`,
and the benches that measure it (bench/soak.py).

Why: glibc raises its mmap threshold to the size of any mmapped block that is
freed (its "dynamic threshold"). After that, asyncio's receive buffer (256 KiB,
one per socket read, shrunk in place to the bytes read) comes from the heap, and
the small reads left behind fragment it: under the soak's mixed load the heap's
live bytes stayed flat while its free space, and the RSS with it, grew by about
0.3 MiB a minute. Setting the threshold, even to its default of 128 KiB, turns
the adjustment off: each read buffer is its own mapping, returned when freed.
The cost is an mmap, mremap and munmap per read: about 20 us, a few reads per
request.
"""

from __future__ import annotations

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}
