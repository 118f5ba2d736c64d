"""The order in which `make test`'s two pytest-xdist workers take the test files.

make test runs `--dist loadfile --no-loadscope-reorder`: a file is one unit,
so its module fixtures run once and the README blocks' fixed ports (8080,
9000) stay on one worker. Workers take files in collection order, so the
longest (the moto applies, then the plans) go first, the other slow files
next, and the short ones even out the end. Without xdist only the order changes.
"""

from __future__ import annotations

import pytest

LONGEST_FIRST = ("test_terraform_apply", "test_terraform_plan")


def _rank(item: pytest.Item) -> int:
    module = item.module.__name__.rsplit(".", 1)[-1] if item.module is not None else ""
    if module in LONGEST_FIRST:
        return LONGEST_FIRST.index(module)
    return len(LONGEST_FIRST) + (0 if item.get_closest_marker("slow") else 1)


def arrange(items: list[pytest.Item]) -> None:
    """The longest files first; a stable sort keeps each file's own order."""
    items.sort(key=_rank)
