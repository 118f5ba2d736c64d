"""Twenty Lambda containers chat at once against one PostgreSQL (bench/fleet.py, run as
`make bench-fleet` runs it, on the source tree instead of a built package).

max_connections is 12 here: the bench's own two sessions leave 10, the size of
pgbouncer's server pool. Through pgbouncer (transaction mode, default settings)
every user is answered and every answer stored in full; directly, the containers
past the limit get the database's 503 and the others are unaffected.
"""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# 60-100 s on a shared 2-core machine (twenty containers started, warmed, then chatting).
pytestmark = pytest.mark.slow

N = 20
MAX_CONNECTIONS = 12
POOL_SIZE = 10
# Twenty cold containers on two shared cores, each chat streamed at the model's pace.
BENCH_TIMEOUT = 600


@pytest.fixture(scope="module")
def rounds() -> dict[str, dict]:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fleet.py"),
            "--task-root",
            str(ROOT),
            "--n",
            str(N),
            "--rounds",
            "1",
            "--max-connections",
            str(MAX_CONNECTIONS),
            "--pool-size",
            str(POOL_SIZE),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return {r["path"]: r for r in json.loads(result.stdout.splitlines()[-1])["rounds"]}


def test_through_pgbouncer_every_user_is_answered_and_every_answer_stored(rounds):
    pooled = rounds["pgbouncer"]
    assert (pooled["answered"], pooled["stored"]) == (N, N), pooled
    assert pooled["refused"] == pooled["other"] == 0, pooled
    assert pooled["peak"] <= POOL_SIZE  # the pooler, not the fleet, bounds the server


def test_directly_past_max_connections_users_get_a_503_and_the_rest_are_unaffected(rounds):
    direct = rounds["direct"]
    assert direct["other"] == 0, direct  # never a 500, never a broken stream
    assert direct["refused"] > 0 and direct["answered"] + direct["refused"] == N, direct
    assert direct["stored"] == direct["answered"]
    assert [json.loads(body) for body in direct["refusals"]] == [
        {"error": "The database has no free connections; try again shortly"}
    ]
