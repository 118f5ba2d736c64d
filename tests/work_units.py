"""The order in which `make test`'s two pytest-xdist workers take the test files.

make test runs `--dist loadfile --no-loadscope-reorder`: a file is one unit,
so its module fixtures run once and the README blocks' fixed ports (8080,
9000) stay on one worker. Workers take files in collection order, so the
longest (the moto applies, then the plans) go first, the other slow files
next, and the short ones even out the end. Without xdist only the order changes.

A worker is handed its next file once two tests of its current one are left:
the moto file runs its two long applies first, so that hand-over comes at the
end of the applies, when only short files are left to take, instead of
queueing the browser tests behind twenty minutes of applies.
"""

from __future__ import annotations

import pytest

LONGEST_FIRST = ("test_terraform_apply", "test_terraform_plan")
LONG_TESTS_FIRST = ("test_deploy_guide_against_moto", "test_a_throw_away_stack_goes_entirely")


def _rank(item: pytest.Item) -> tuple[int, int]:
    module = item.module.__name__.rsplit(".", 1)[-1] if item.module is not None else ""
    if module in LONGEST_FIRST:
        file_rank = LONGEST_FIRST.index(module)
    else:
        file_rank = len(LONGEST_FIRST) + (0 if item.get_closest_marker("slow") else 1)
    name = getattr(item, "originalname", item.name)
    test_rank = LONG_TESTS_FIRST.index(name) if name in LONG_TESTS_FIRST else len(LONG_TESTS_FIRST)
    return file_rank, test_rank


def arrange(items: list[pytest.Item]) -> None:
    """The longest files first, and their longest tests; a stable sort keeps the rest's order."""
    items.sort(key=_rank)
