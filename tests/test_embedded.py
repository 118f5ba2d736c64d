"""The embedded PostgreSQL opens nothing up: as root it refuses, naming the folder."""

import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from handler.db import embedded


@pytest.fixture
def open_dir():
    """A folder everyone may enter, under folders everyone may enter."""
    path = Path(tempfile.mkdtemp(dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_closed_parent_is_named_and_left_closed(open_dir):
    private = open_dir / "private"
    data = private / "checkout" / ".data" / "postgres"
    data.mkdir(parents=True)
    private.chmod(0o700)
    assert private in embedded.closed_parents(data)
    with pytest.raises(embedded.EmbeddedPostgresError) as refused:
        embedded.check_parents(data, as_root=True)
    assert f"{private} (700)" in str(refused.value)
    assert "DATABASE_URL" in str(refused.value)
    assert _mode(private) == 0o700  # nothing was widened


def test_open_parents_or_a_normal_user_pass(open_dir):
    data = open_dir / "open" / "postgres"
    data.mkdir(parents=True)
    (open_dir / "open").chmod(0o755)
    embedded.check_parents(data, as_root=True)
    (open_dir / "open").chmod(0o700)
    embedded.check_parents(data, as_root=False)  # PostgreSQL runs as this user then
