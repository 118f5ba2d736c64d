"""terraform apply, plan and destroy against a local moto server."""

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest

from tests.terraform_support import ACCOUNT_ID, prepare, terraform, variables

REGION = "us-east-1"
LAYER = "AWS-Parameters-and-Secrets-Lambda-Extension"


@pytest.fixture(scope="module")
def moto_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait()


def client(service: str, endpoint: str):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="mock",
        aws_secret_access_key="mock",
    )


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pkg") / "deploy.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler/__init__.py", "")
    path.write_bytes(buffer.getvalue())
    return path


def test_apply_plan_destroy(moto_endpoint, package, tmp_path):
    lam = client("lambda", moto_endpoint)
    layer = lam.publish_layer_version(LayerName=LAYER, Content={"ZipFile": package.read_bytes()})
    workdir = tmp_path / "terraform"
    tf = prepare(workdir, endpoint=moto_endpoint)
    tf_vars = variables(
        package,
        region=REGION,
        secrets_extension_layer_arn=layer["LayerVersionArn"],
        enable_rds_proxy=True,
        db_deletion_protection=False,
        db_skip_final_snapshot=True,
        db_multi_az=False,
        single_nat_gateway=True,
    )
    try:
        tf.apply(tf_vars=tf_vars)
        outputs = tf.output()
        assert outputs["function_url"].startswith("http")
        assert outputs["function_name"] == "debugflow-prod"
        assert outputs["database_port"] == 5432
        assert outputs["app_secret_arn"].startswith("arn:aws:secretsmanager:")
        assert outputs["database_master_secret_arn"].startswith("arn:aws:secretsmanager:")
        assert set(outputs["pgadmin"]) == {"host", "port", "database", "username", "sslmode"}
        assert outputs["pgadmin"]["sslmode"] == "require"

        again = terraform(
            workdir,
            "plan",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            *[f"-var={k}={v}" for k, v in _cli_vars(tf_vars).items()],
        )
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]

        function = lam.get_function(FunctionName="debugflow-prod")["Configuration"]
        env = function["Environment"]["Variables"]
        assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/var/task/handler/lambda_runtime/exec-wrapper"
        assert env["LAMBDA_INVOKE_MODE"] == "RESPONSE_STREAM"
        assert ":" not in env["DATABASE_URL"].split("@")[0].removeprefix("postgresql://")
        proxy = client("rds", moto_endpoint).describe_db_proxies()["DBProxies"][0]
        assert proxy["Endpoint"] in env["DATABASE_URL"]  # the function goes through the proxy
        assert outputs["database_endpoint"] == proxy["Endpoint"]
        private = {
            s["SubnetId"]
            for s in client("ec2", moto_endpoint).describe_subnets()["Subnets"]
            if {"Key": "Tier", "Value": "private"} in s.get("Tags", [])
        }
        assert set(function["VpcConfig"]["SubnetIds"]) == private
        url = lam.get_function_url_config(FunctionName="debugflow-prod")
        assert url["InvokeMode"] == "RESPONSE_STREAM" and "Cors" not in url
    finally:
        destroyed = terraform(
            workdir,
            "destroy",
            "-auto-approve",
            "-input=false",
            "-no-color",
            *[f"-var={k}={v}" for k, v in _cli_vars(tf_vars).items()],
        )
    assert destroyed.returncode == 0, destroyed.stdout[-3000:] + destroyed.stderr[-3000:]
    assert terraform(workdir, "state", "list").stdout.strip() == ""
    assert lam.list_functions()["Functions"] == []
    assert client("rds", moto_endpoint).describe_db_instances()["DBInstances"] == []
    vpcs = client("ec2", moto_endpoint).describe_vpcs()["Vpcs"]
    assert [v for v in vpcs if not v["IsDefault"]] == []
    secrets = client("secretsmanager", moto_endpoint).list_secrets()["SecretList"]
    assert [s for s in secrets if "DeletedDate" not in s and "debugflow" in s["Name"]] == []
    assert ACCOUNT_ID in layer["LayerVersionArn"]


# Attributes moto does not store or echo back the way AWS does, so a second
# plan against moto shows them changed. Anything else changing is a failure.
MOTO_GAPS = {
    ("aws_db_instance", "performance_insights_enabled"),
    ("aws_db_instance", "performance_insights_kms_key_id"),
    ("aws_db_instance", "performance_insights_retention_period"),
    ("aws_db_parameter_group", "parameter"),
    ("aws_lambda_function", "logging_config"),
    # DescribeSecurityGroupRules: no description, group ids prefixed with the account.
    ("aws_vpc_security_group_ingress_rule", "description"),
    ("aws_vpc_security_group_ingress_rule", "referenced_security_group_id"),
    ("aws_vpc_security_group_egress_rule", "description"),
    ("aws_vpc_security_group_egress_rule", "referenced_security_group_id"),
    # Re-derived from a policy document that is re-read because the instance changes.
    ("aws_iam_role_policy", "policy"),
}


def _drift(plan: dict) -> list[tuple[str, str]]:
    """(address, attribute) of every planned change not explained by MOTO_GAPS."""
    drift = []
    for change in plan["resource_changes"]:
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        if actions != ["update"]:
            drift.append((change["address"], "/".join(actions)))
            continue
        before, after = change["change"]["before"], change["change"]["after"]
        unknown = change["change"]["after_unknown"]
        for key in sorted(set(before) | set(after) | set(unknown)):
            changed = before.get(key) != after.get(key) or unknown.get(key) is True
            if changed and (change["type"], key) not in MOTO_GAPS:
                drift.append((change["address"], key))
    return drift


def _cli_vars(tf_vars: dict) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in tf_vars.items()}
