"""docs/api.md names exactly the routes the service describes in /openapi.json."""

import re
import subprocess

from handler.app import create_app
from handler.routes.openapi import document
from handler.routes.schema import DESCRIBED_PATHS
from handler.settings import Settings

ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^` ]*)")


def test_the_api_page_and_the_openapi_document_name_the_same_routes(repo_root):
    page = (repo_root / "docs" / "api.md").read_text()
    documented = set(ROUTE.findall(page))
    paths = document(create_app(Settings.from_env({}))[DESCRIBED_PATHS])["paths"]
    described = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    assert described - documented == set(), "described but not in docs/api.md"
    assert documented - described == set(), "in docs/api.md but not served"


def test_nothing_in_the_repository_points_outside_it(repo_root):
    outside = "../" + "shared"  # the folder this repository was planned in
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        path = repo_root / name
        if path.is_file():
            assert outside not in path.read_text(errors="replace"), name
