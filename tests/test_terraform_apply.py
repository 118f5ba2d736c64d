"""docs/deploy.md's commands, run as written, against a local moto server.

`make package`, `make deploy` (terraform apply), putting the secret, the
outputs, `make pgadmin-servers`, a second plan that must show no changes,
`aws lambda get-policy`, and `make destroy`, which must leave nothing.
"""

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest

from tests import deploy_guide
from tests.terraform_support import ROOT, environment, prepare, terraform

REGION = "us-east-1"
FUNCTION = "debugflow-prod"
LAYER = "AWS-Parameters-and-Secrets-Lambda-Extension"

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


def test_deploy_guide_against_moto(moto_endpoint, tmp_path):
    lam = client("lambda", moto_endpoint)
    placeholder = tmp_path / "layer.zip"
    with zipfile.ZipFile(placeholder, "w") as archive:
        archive.writestr("extensions/README", "stands in for the AWS-provided layer")
    layer = lam.publish_layer_version(
        LayerName=LAYER, Content={"ZipFile": placeholder.read_bytes()}
    )

    workdir = tmp_path / "terraform"
    prepare(workdir, endpoint=moto_endpoint)
    env = {
        **os.environ,
        **environment(workdir),
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "mock",
        "AWS_SECRET_ACCESS_KEY": "mock",
        "AWS_DEFAULT_REGION": REGION,
    }
    package = tmp_path / "deploy.zip"
    make_vars = [
        f"TF_DIR={workdir}",
        f"PACKAGE={package}",
        "TF_ARGS=-auto-approve -no-color",
        f"SERVERS={tmp_path / 'servers.json'}",
    ]

    def run(command: str, cwd: Path = tmp_path) -> str:
        if command.startswith("make "):
            command = f"{command} {' '.join(shlex.quote(v) for v in make_vars)}"
            cwd = ROOT
        result = subprocess.run(
            command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200
        )
        assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-3000:])
        return result.stdout

    # One-time setup and deploy, as the guide says; the moto-specific values
    # (region, zones, the layer published above) override the example's.
    (cp,) = deploy_guide.starting_with("cp ")
    run(cp)
    (workdir / "test.auto.tfvars.json").write_text(
        json.dumps(
            {
                "region": REGION,
                "azs": [f"{REGION}a", f"{REGION}b"],
                "secrets_extension_layer_arn": layer["LayerVersionArn"],
                "enable_rds_proxy": True,
                "db_deletion_protection": False,
                "db_skip_final_snapshot": True,
                "db_multi_az": False,
                "single_nat_gateway": True,
            }
        )
    )
    deployed = False
    try:
        run("make package")
        assert zipfile.is_zipfile(package)
        run("make deploy")
        deployed = True
        outputs = json.loads(terraform(workdir, "output", "-json").stdout)
        assert outputs["function_name"]["value"] == FUNCTION
        assert set(outputs["pgadmin"]["value"]) == {
            "host",
            "port",
            "database",
            "username",
            "sslmode",
        }

        (tmp_path / "secrets.json").write_text(
            json.dumps({"HUGGINGFACE_API_KEY": "hf_test", "FIREBASE_PROJECT_ID": "debugflow-test"})
        )
        (put,) = deploy_guide.starting_with("aws secretsmanager put-secret-value")
        run(put)
        stored = client("secretsmanager", moto_endpoint).get_secret_value(
            SecretId=outputs["app_secret_arn"]["value"]
        )
        assert json.loads(stored["SecretString"])["FIREBASE_PROJECT_ID"] == "debugflow-test"

        (url_command,) = deploy_guide.starting_with(
            "terraform -chdir=terraform output -raw function_url"
        )
        assert run(url_command).startswith("http")

        run("make pgadmin-servers")
        server = json.loads((tmp_path / "servers.json").read_text())["Servers"]["1"]
        pgadmin = outputs["pgadmin"]["value"]
        assert (server["Host"], server["Port"], server["SSLMode"]) == (
            pgadmin["host"],
            pgadmin["port"],
            "require",
        )
        assert "password" not in (tmp_path / "servers.json").read_text().lower().replace(
            "savepassword", ""
        )

        (get_password,) = deploy_guide.starting_with("aws secretsmanager get-secret-value")
        assert {"username", "password"} <= set(json.loads(run(get_password)))  # moto's values

        (policy_command,) = deploy_guide.starting_with("aws lambda get-policy")
        policy = json.loads(json.loads(run(policy_command))["Policy"])
        statements = {(s["Sid"], s["Action"]) for s in policy["Statement"]}
        assert statements >= {
            ("FunctionURLAllowPublicAccess", "lambda:InvokeFunctionUrl"),
            ("FunctionURLAllowInvokeAction", "lambda:InvokeFunction"),
        }

        again = terraform(
            workdir,
            "plan",
            "-input=false",
            "-no-color",
            "-out=again.tfplan",
            f"-var=package_file={package}",
        )
        assert again.returncode == 0, again.stderr[-3000:]
        assert _drift(json.loads(terraform(workdir, "show", "-json", "again.tfplan").stdout)) == []

        function = lam.get_function(FunctionName=FUNCTION)["Configuration"]
        variables = function["Environment"]["Variables"]
        assert (
            variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/var/task/handler/lambda_runtime/exec-wrapper"
        )
        assert variables["LAMBDA_INVOKE_MODE"] == "RESPONSE_STREAM"
        assert "hf_test" not in json.dumps(variables)
        assert ":" not in variables["DATABASE_URL"].removeprefix("postgresql://").split("@")[0]
        proxy = client("rds", moto_endpoint).describe_db_proxies()["DBProxies"][0]
        assert f"@{proxy['Endpoint']}:" in variables["DATABASE_URL"]  # through the proxy
        private = {
            s["SubnetId"]
            for s in client("ec2", moto_endpoint).describe_subnets()["Subnets"]
            if {"Key": "Tier", "Value": "private"} in s.get("Tags", [])
        }
        assert set(function["VpcConfig"]["SubnetIds"]) == private
        url = lam.get_function_url_config(FunctionName=FUNCTION)
        assert url["InvokeMode"] == "RESPONSE_STREAM" and "Cors" not in url
    finally:
        if deployed:
            _forget_url_permissions(workdir, lam)
            run("make destroy")
    assert terraform(workdir, "state", "list").stdout.strip() == ""
    assert lam.list_functions()["Functions"] == []
    assert client("rds", moto_endpoint).describe_db_instances()["DBInstances"] == []
    assert client("rds", moto_endpoint).describe_db_proxies()["DBProxies"] == []
    vpcs = client("ec2", moto_endpoint).describe_vpcs()["Vpcs"]
    assert [v for v in vpcs if not v["IsDefault"]] == []


def _forget_url_permissions(workdir: Path, lam) -> None:
    """moto gap: creating a URL with auth NONE also adds a statement with the Sid
    FunctionURLAllowPublicAccess (as AWS's console does, not its API), so after
    our permission is removed the provider's delete waiter still finds that
    Sid and waits out its timeout. Remove the statements directly and drop
    them from state, so `make destroy` handles the rest."""
    for address, sid in [
        ("module.function.aws_lambda_permission.url_invoke[0]", "FunctionURLAllowInvokeAction"),
        ("module.function.aws_lambda_permission.url[0]", "FunctionURLAllowPublicAccess"),
    ]:
        policy = json.loads(lam.get_policy(FunctionName=FUNCTION)["Policy"])
        for _ in [s for s in policy["Statement"] if s["Sid"] == sid]:
            lam.remove_permission(FunctionName=FUNCTION, StatementId=sid)
        assert terraform(workdir, "state", "rm", address).returncode == 0


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
