"""`make pgadmin-servers`: servers.json from Terraform outputs, never a password."""

import json
import subprocess

from tests.conftest import ROOT

OUTPUTS = {
    "pgadmin": {
        "sensitive": False,
        "type": ["object", {}],
        "value": {
            "host": "debugflow-prod.abc.eu-west-1.rds.amazonaws.com",
            "port": 5432,
            "database": "debugflow",
            "username": "debugflow",
            "sslmode": "require",
        },
    },
    "database_master_secret_arn": {"sensitive": False, "value": "arn:aws:secretsmanager:x"},
}


def run(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "pgadmin-servers", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def servers_from(outputs: dict) -> dict:
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "handler", "pgadmin-servers"],
        cwd=ROOT,
        input=json.dumps(outputs),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_servers_json_from_outputs():
    server = servers_from(OUTPUTS)["Servers"]["1"]
    assert server["Host"] == OUTPUTS["pgadmin"]["value"]["host"]
    assert (server["Port"], server["MaintenanceDB"], server["Username"]) == (
        5432,
        "debugflow",
        "debugflow",
    )
    assert server["SSLMode"] == "require"
    assert server["ConnectionParameters"]["sslmode"] == "require"
    assert not any("password" in key.lower() and key != "SavePassword" for key in server)
    assert server["SavePassword"] is False


def test_missing_output_is_a_clear_error():
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "handler", "pgadmin-servers"],
        cwd=ROOT,
        input="{}",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "run `terraform apply`" in result.stderr
