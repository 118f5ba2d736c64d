"""`python -m handler.lambda_runtime` met at a terminal: help, and one-line errors."""

import subprocess
import sys


def _run(*args: str, **env: str):
    return subprocess.run(
        [sys.executable, "-m", "handler.lambda_runtime", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_says_what_it_does():
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    assert "Runtime API" in result.stdout and "example:" in result.stdout
    assert result.stderr == ""


def test_outside_lambda_and_with_arguments_one_line_errors():
    for result in (_run(), _run("--port", "9000")):
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "AWS_LAMBDA_RUNTIME_API" in _run().stderr
