"""`make deploy` checks the AWS CLI before it builds or applies anything.

Terraform calls `aws lambda add-permission --invoked-via-function-url` for the
public URL's second permission after the URL exists; a CLI without the option
(before awscli 1.42.50 / botocore 1.40.50) would leave a URL answering 403.
Here: no CLI, an old one (a fake printing what such a CLI prints), and the
current one this project installs.
"""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# What awscli 1.42.49 prints: its add-permission knows FunctionUrlAuthType, not the new option.
OLD_SKELETON = """{
    "FunctionName": "",
    "StatementId": "",
    "Action": "",
    "Principal": "",
    "FunctionUrlAuthType": "AWS_IAM",
    "Qualifier": ""
}"""
OLD_CLI = f"""#!/bin/sh
case "$*" in
  "--version") echo "aws-cli/1.42.49 Python/3.12.3 Linux/6.8.0 botocore/1.40.49" ;;
  "lambda add-permission --generate-cli-skeleton input") cat <<'JSON'
{OLD_SKELETON}
JSON
  ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""
INSTALL = "install awscli 1.42.50 or later (pip install 'awscli>=1.42.50')"


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def make(target: str, tmp_path: Path, aws_cli: str) -> subprocess.CompletedProcess:
    """`make <target>` with a Terraform that records being called, and a package under tmp."""
    calls = tmp_path / "terraform-calls"
    terraform = _executable(tmp_path / "terraform", f'#!/bin/sh\necho "$*" >> {calls}\n')
    # The real build would take a minute: the test only needs to know it did not start.
    python = _executable(tmp_path / "python", "#!/bin/sh\nexit 97\n")
    return subprocess.run(
        [
            "make",
            target,
            f"AWS_CLI={aws_cli}",
            f"TERRAFORM={terraform}",
            f"PACKAGE={tmp_path / 'deploy.zip'}",
            f"PYTHON={python}",
            f"VENV={tmp_path / 'venv'}",
        ],
        cwd=ROOT,
        env={
            # As an operator's shell: not a sub-make of `make test` (which would print
            # "Entering directory" lines).
            **{
                k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")
            },
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("cli", "complaint"),
    [
        ("debugflow-no-such-aws", "'debugflow-no-such-aws' is not on PATH"),
        ("OLD", "aws-cli/1.42.49 Python/3.12.3 Linux/6.8.0 botocore/1.40.49) does not"),
    ],
)
def test_deploy_stops_before_building_or_applying(tmp_path, cli, complaint):
    if cli == "OLD":
        cli = str(_executable(tmp_path / "aws", OLD_CLI))
    result = make("deploy", tmp_path, cli)
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if "make deploy needs" in line]
    assert complaint in line and INSTALL in line
    assert not (tmp_path / "terraform-calls").exists()  # no init, no apply
    assert not (tmp_path / "deploy.zip").exists() and not (tmp_path / "venv").exists()


def test_the_current_cli_passes(tmp_path):
    aws = shutil.which("aws", path=str(Path(sys.executable).parent))
    assert aws, "the test dependencies install awscli"
    version = subprocess.run([aws, "--version"], capture_output=True, text=True).stdout
    result = make("deploy-preflight", tmp_path, aws)
    assert result.returncode == 0, (version, result.stderr)
    assert result.stdout == result.stderr == ""


def test_pyproject_pins_the_first_cli_that_works(repo_root):
    assert '"awscli>=1.42.50"' in (repo_root / "pyproject.toml").read_text()
