"""What devtools/native_heap.py's MALLOC_ENV costs: time per socket read through an
asyncio transport, with it and without it (glibc's dynamic threshold), in the same run.

Each variant is a fresh Python process that first frees one mmapped 1 MiB block (as
the service does early on, raising glibc's dynamic threshold), then echoes small
messages over a loopback socket pair through asyncio transports, timing the round
trips. The variants alternate, `--rounds` times each; medians are printed.

Usage: python bench/read_cost.py [--messages 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from lambda_setup import figure

from devtools.native_heap import MALLOC_ENV

CHILD = r"""
import asyncio, socket, sys, time

MESSAGES = int(sys.argv[1])

async def main():
    loop = asyncio.get_running_loop()
    left = MESSAGES
    done = loop.create_future()

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    class Client(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            nonlocal left
            left -= 1
            if left:
                self.transport.write(data)
            else:
                done.set_result(None)

    ours, theirs = socket.socketpair()
    await loop.connect_accepted_socket(Echo, theirs)
    client, _ = await loop.connect_accepted_socket(Client, ours)
    big = bytes(1 << 20)
    del big
    started = time.perf_counter()
    client.write(b"x" * 300)
    await done
    # Two reads per round trip (one each side).
    print((time.perf_counter() - started) / (2 * MESSAGES) * 1e6)

asyncio.run(main())
"""


def per_read_us(messages: int, malloc_env: dict[str, str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | malloc_env
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(messages)], env=env, check=True, capture_output=True
    )
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    dynamic, fixed = [], []
    for _ in range(args.rounds):
        dynamic.append(per_read_us(args.messages, {}))
        fixed.append(per_read_us(args.messages, MALLOC_ENV))
    a, b = statistics.median(dynamic), statistics.median(fixed)
    figure(
        "socket read through asyncio with MALLOC_ENV",
        f"{b:.1f} us = {b - a:+.1f} us ({b / a:.2f}x) over glibc's dynamic threshold ({a:.1f} us)",
        rounds=args.rounds,
        messages=args.messages,
    )


if __name__ == "__main__":
    main()
