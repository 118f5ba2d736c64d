"""Running the real Terraform offline: the mirrored AWS provider, mock credentials.

Each test works on a copy of terraform/ with a `provider_override.tf` (merged
into the root provider block by Terraform) that turns off the AWS calls a
plan would make, or points every service at a local moto server.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

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


def plugin_dir() -> str:
    """The folder holding registry.terraform.io (the provider mirror on these machines)."""
    if os.environ.get("TF_PLUGIN_DIR"):
        return os.environ["TF_PLUGIN_DIR"]
    for pattern in (
        "/*/registry.terraform.io",
        "/*/*/registry.terraform.io",
        "/*/*/*/registry.terraform.io",
    ):
        for found in sorted(glob.glob(pattern)):
            return str(Path(found).parent)
    raise RuntimeError(
        "no Terraform provider mirror (registry.terraform.io) found; set TF_PLUGIN_DIR"
    )


def environment(workdir: Path) -> dict[str, str]:
    """Terraform's environment: a CLI config that installs providers from the mirror only."""
    config = workdir / "terraformrc"
    config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{plugin_dir()}"\n  }}\n}}\n'
    )
    return {
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def provider_override(endpoint: str | None = None) -> str:
    lines = [
        'provider "aws" {',
        '  access_key                  = "mock"',
        '  secret_key                  = "mock"',
        "  skip_credentials_validation = true",
        "  skip_requesting_account_id  = true",
        "  skip_metadata_api_check     = true",
        "  skip_region_validation      = true",
    ]
    if endpoint:
        lines.append("  endpoints {")
        lines += [f'    {service} = "{endpoint}"' for service in SERVICES]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def prepare(workdir: Path, endpoint: str | None = None) -> tftest.TerraformTest:
    """Copy terraform/ (with its lock file) to `workdir`, add the override, and init
    from the mirror: init fails if the mirror's provider does not match the lock."""
    shutil.copytree(
        TERRAFORM_DIR, workdir, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*")
    )
    (workdir / "provider_override.tf").write_text(provider_override(endpoint))
    tf = tftest.TerraformTest(str(workdir), binary="terraform", env=environment(workdir))
    tf.setup(plugin_dir=plugin_dir(), backend=False, cleanup_on_exit=False)
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
        ["terraform", *args],
        cwd=workdir,
        env={**os.environ, **environment(workdir)},
        capture_output=True,
        text=True,
        timeout=900,
    )
