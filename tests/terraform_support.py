"""Running the real Terraform offline: the mirrored AWS provider, mock credentials.

Each test works on a copy of terraform/ with a `provider_override.tf` (merged
into the root provider block by Terraform) that turns off the AWS calls a
plan would make, or points every service at a local moto server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tftest

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM_DIR = ROOT / "terraform"
ACCOUNT_ID = "123456789012"
SERVICES = (
    "cloudwatch",
    "ec2",
    "iam",
    "kms",
    "lambda",
    "logs",
    "rds",
    "secretsmanager",
    "sns",
    "sts",
)


def terraform_binary() -> str:
    """terraform on PATH, or a test failure saying what to install."""
    found = shutil.which("terraform")
    if found is None:
        pytest.fail("these tests need Terraform 1.11 or later on PATH: install it", pytrace=False)
    return found


def environment(workdir: Path) -> dict[str, str]:
    """Terraform's environment, installing providers the standard way.

    With TF_PLUGIN_DIR (a folder holding registry.terraform.io, e.g. an offline
    mirror), a CLI config written here installs from it only; without it, the
    user's own CLI configuration and a normal `terraform init` apply.
    """
    env = {
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    mirror = os.environ.get("TF_PLUGIN_DIR")
    if mirror:
        config = workdir / "terraformrc"
        config.write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
        )
        env["TF_CLI_CONFIG_FILE"] = str(config)
    return env


def provider_override(endpoint: str | None = None) -> str:
    """Mock credentials; with an endpoint, the provider asks it (moto's STS) whose they are,
    so the root's allowed_account_ids is checked for real (moto's account is ACCOUNT_ID)."""
    skip = "false" if endpoint else "true"
    lines = [
        'provider "aws" {',
        '  access_key                  = "mock"',
        '  secret_key                  = "mock"',
        f"  skip_credentials_validation = {skip}",
        f"  skip_requesting_account_id  = {skip}",
        "  skip_metadata_api_check     = true",
        "  skip_region_validation      = true",
    ]
    if endpoint:
        lines.append("  endpoints {")
        width = max(map(len, SERVICES))  # aligned as `terraform fmt` aligns them
        lines += [f'    {service:<{width}} = "{endpoint}"' for service in SERVICES]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def prepare(workdir: Path, endpoint: str | None = None) -> tftest.TerraformTest:
    """Copy terraform/ (with its lock file) to `workdir`, add the override, and init:
    init fails if the provider it installs does not match the lock."""
    shutil.copytree(
        TERRAFORM_DIR, workdir, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*")
    )
    (workdir / "provider_override.tf").write_text(provider_override(endpoint))
    tf = tftest.TerraformTest(str(workdir), binary=terraform_binary(), env=environment(workdir))
    tf.setup(plugin_dir=os.environ.get("TF_PLUGIN_DIR"), backend=False, cleanup_on_exit=False)
    return tf


def variables(package: Path, region: str = "eu-west-1", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "region": region,
        "account_id": ACCOUNT_ID,
        "azs": [f"{region}a", f"{region}b"],
        "cors_origins": ["https://app.example.com", "http://localhost:3000"],
        "package_file": str(package),
        "secrets_extension_layer_arn": (
            f"arn:aws:lambda:{region}:{ACCOUNT_ID}:layer:"
            "AWS-Parameters-and-Secrets-Lambda-Extension:1"
        ),
    }
    values.update(overrides)
    # tftest writes Python values with str(); Terraform wants lower-case booleans.
    return {k: str(v).lower() if isinstance(v, bool) else v for k, v in values.items()}


def terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [terraform_binary(), *args],
        cwd=workdir,
        env={**os.environ, **environment(workdir)},
        capture_output=True,
        text=True,
        timeout=900,
    )
