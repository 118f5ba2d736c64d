"""docs/deploy.md's commands, run as written, against a local moto server taught AWS's rules.

The server is tests/standins/aws_rules.py: moto plus the Lambda resource-policy
rules AWS enforces (FunctionUrlAuthType only on lambda:InvokeFunctionUrl,
repeated statement ids refused, one policy per alias). The guide's life cycle:
`make package`, `make deploy`, putting the secret, the outputs, `make
pgadmin-servers`, the URL's two permissions, an empty second plan, a master
password rotation (still an empty plan), `make destroy` refused while deletion
protection is on, a second release and `make rollback`, then `make destroy`
twice, without the package, keeping the final snapshot's key and secret.
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
from botocore.exceptions import ClientError

from devtools.native_heap import MALLOC_ENV
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
        [sys.executable, "-m", "tests.standins.aws_rules", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
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


@pytest.fixture
def probe_function(moto_endpoint, tmp_path):
    """A throw-away function with a `live` alias, for the stand-in's own rules."""
    role = client("iam", moto_endpoint).create_role(
        RoleName="rules-probe", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = tmp_path / "probe.zip"
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("probe.py", "")
    lam = client("lambda", moto_endpoint)
    lam.create_function(
        FunctionName="rules-probe",
        Runtime="python3.12",
        Role=role,
        Handler="probe.handler",
        Code={"ZipFile": code.read_bytes()},
        Publish=True,
    )
    lam.create_alias(FunctionName="rules-probe", Name="live", FunctionVersion="1")
    yield lam
    lam.delete_function(FunctionName="rules-probe")
    client("iam", moto_endpoint).delete_role(RoleName="rules-probe")


def test_the_stand_in_refuses_what_aws_refuses(probe_function):
    lam = probe_function
    # The old module's second statement: FunctionUrlAuthType on lambda:InvokeFunction.
    with pytest.raises(ClientError) as refused:
        lam.add_permission(
            FunctionName="rules-probe",
            Qualifier="live",
            StatementId="FunctionURLAllowInvokeAction",
            Action="lambda:InvokeFunction",
            Principal="*",
            FunctionUrlAuthType="NONE",
        )
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"

    public = dict(
        FunctionName="rules-probe",
        Qualifier="live",
        StatementId="FunctionURLAllowPublicAccess",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    lam.add_permission(**public)
    with pytest.raises(ClientError) as conflict:
        lam.add_permission(**public)  # what provider 5.100's URL and a same-Sid permission do
    assert conflict.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert conflict.value.response["Error"]["Code"] == "ResourceConflictException"


def test_the_stand_in_keeps_one_policy_per_alias(probe_function):
    lam = probe_function
    lam.add_permission(
        FunctionName="rules-probe",
        Qualifier="live",
        StatementId="FunctionURLAllowInvokeAction",
        Action="lambda:InvokeFunction",
        Principal="*",
        InvokedViaFunctionUrl=True,
    )
    (statement,) = json.loads(
        lam.get_policy(FunctionName="rules-probe", Qualifier="live")["Policy"]
    )["Statement"]
    assert statement["Condition"] == {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}
    assert statement["Resource"].endswith(":function:rules-probe:live")
    with pytest.raises(ClientError) as missing:
        lam.get_policy(FunctionName="rules-probe")  # the unqualified function has none
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


class Guide:
    """A copy of terraform/ pointed at the stand-in, and the guide's commands run as written."""

    def __init__(self, endpoint: str, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        placeholder = tmp_path / "layer.zip"
        with zipfile.ZipFile(placeholder, "w") as archive:
            archive.writestr("extensions/README", "stands in for the AWS-provided layer")
        self.layer = client("lambda", endpoint).publish_layer_version(
            LayerName=LAYER, Content={"ZipFile": placeholder.read_bytes()}
        )["LayerVersionArn"]
        self.workdir = tmp_path / "terraform"
        prepare(self.workdir, endpoint=endpoint)
        self.env = {
            **os.environ,
            **environment(self.workdir),
            # The venv's AWS CLI knows --invoked-via-function-url; the module calls `aws`.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "mock",
            "AWS_SECRET_ACCESS_KEY": "mock",
        }
        self.env.pop("AWS_DEFAULT_REGION", None)  # the guide names the region from the outputs
        self.package = tmp_path / "deploy.zip"
        self.make_vars = [
            f"TF_DIR={self.workdir}",
            f"PACKAGE={self.package}",
            "TF_ARGS=-auto-approve -no-color",
            f"SERVERS={tmp_path / 'servers.json'}",
            # moto runs no function code: the migrate invocation is test_manage.py's.
            "MIGRATE=no",
        ]

    def run(self, command: str, ok: bool = True) -> subprocess.CompletedProcess:
        cwd = self.tmp_path  # where the guide's `terraform -chdir=terraform` finds the copy
        if command.startswith("make "):
            # A command with its own TF_ARGS brings -auto-approve itself.
            own = [
                v
                for v in self.make_vars
                if not (v.startswith("TF_ARGS=") and "TF_ARGS=" in command)
            ]
            command = f"{command} {' '.join(shlex.quote(v) for v in own)}"
            cwd = ROOT
        result = subprocess.run(
            command, shell=True, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=1200
        )
        if ok:
            assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-3000:])
        return result

    def settings(self, **values) -> None:
        """The example's settings, overridden for moto (region, zones, the published layer)."""
        path = self.workdir / "test.auto.tfvars.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**current, **values}))

    def outputs(self) -> dict:
        return json.loads(terraform(self.workdir, "output", "-json").stdout)

    def plan_drift(self) -> list[tuple[str, str]]:
        again = terraform(
            self.workdir, "plan", "-input=false", "-no-color", "-out=again.tfplan",
            f"-var=package_file={self.package}",
        )  # fmt: skip
        assert again.returncode == 0, again.stderr[-3000:]
        return _drift(json.loads(terraform(self.workdir, "show", "-json", "again.tfplan").stdout))


def test_deploy_guide_against_moto(moto_endpoint, tmp_path):
    lam = client("lambda", moto_endpoint)
    guide = Guide(moto_endpoint, tmp_path)
    workdir, package, run, settings = guide.workdir, guide.package, guide.run, guide.settings
    plan_drift = guide.plan_drift

    def alias_version() -> str:
        return lam.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"]

    # One-time setup and deploy, as the guide says; the moto-specific values
    # (region, zones, the layer published above) override the example's.
    # Deletion protection and the final snapshot keep their defaults (on).
    (cp,) = deploy_guide.starting_with("cp ")
    run(cp)
    settings(
        region=REGION,
        azs=[f"{REGION}a", f"{REGION}b"],
        secrets_extension_layer_arn=guide.layer,
        enable_rds_proxy=True,
        db_multi_az=False,
        single_nat_gateway=True,
        reserved_concurrency=5,
    )
    deployed = False
    try:
        run("make package")
        assert zipfile.is_zipfile(package)
        run("make deploy")
        deployed = True
        outputs = guide.outputs()
        assert outputs["function_name"]["value"] == FUNCTION
        assert outputs["region"]["value"] == REGION
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
        secrets = client("secretsmanager", moto_endpoint)
        stored = secrets.get_secret_value(SecretId=outputs["app_secret_arn"]["value"])
        assert json.loads(stored["SecretString"])["FIREBASE_PROJECT_ID"] == "debugflow-test"

        (url_command,) = deploy_guide.starting_with(
            "terraform -chdir=terraform output -raw function_url"
        )
        assert run(url_command).stdout.startswith("http")

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
        before = json.loads(run(get_password).stdout)
        assert {"username", "password"} <= set(before)  # moto's values

        # The URL serves the `live` alias, whose policy holds exactly the two
        # statements AWS requires, each once (the stand-in refuses repeats).
        (policy_command,) = deploy_guide.starting_with("aws lambda get-policy")
        policy = json.loads(json.loads(run(policy_command).stdout)["Policy"])
        assert sorted(
            (s["Sid"], s["Action"], json.dumps(s["Condition"])) for s in policy["Statement"]
        ) == [
            (
                "FunctionURLAllowInvokeAction",
                "lambda:InvokeFunction",
                json.dumps({"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}),
            ),
            (
                "FunctionURLAllowPublicAccess",
                "lambda:InvokeFunctionUrl",
                json.dumps({"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}),
            ),
        ]
        assert all(s["Principal"] == "*" for s in policy["Statement"])
        assert all(s["Resource"].endswith(f":{FUNCTION}:live") for s in policy["Statement"])

        assert plan_drift() == []

        function = lam.get_function(FunctionName=FUNCTION)["Configuration"]
        variables = function["Environment"]["Variables"]
        assert (
            variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/var/task/handler/lambda_runtime/exec-wrapper"
        )
        assert variables["LAMBDA_INVOKE_MODE"] == "RESPONSE_STREAM"
        assert MALLOC_ENV.items() <= variables.items()  # the allocator setting the soak measured
        assert "hf_test" not in json.dumps(variables)
        # The service's own login (DML only), no password in the URL, through the proxy.
        assert variables["DATABASE_URL"].startswith("postgresql://debugflow_app@")
        proxy = client("rds", moto_endpoint).describe_db_proxies()["DBProxies"][0]
        assert f"@{proxy['Endpoint']}:" in variables["DATABASE_URL"]  # through the proxy
        app_login = outputs["database_app_secret_arn"]["value"]
        assert variables["DATABASE_SECRET_ARN"] == app_login
        assert (
            variables["DATABASE_OWNER_SECRET_ARN"] == outputs["database_master_secret_arn"]["value"]
        )
        assert {a["SecretArn"] for a in proxy["Auth"]} == {
            app_login,
            outputs["database_master_secret_arn"]["value"],
        }
        login = json.loads(secrets.get_secret_value(SecretId=app_login)["SecretString"])
        assert login["username"] == "debugflow_app" and len(login["password"]) == 40
        assert login["password"] not in terraform(workdir, "state", "pull").stdout  # write-only
        # verify-full through the proxy too: its ACM certificate chains to Amazon's roots,
        # shipped in the package at that path.
        assert variables["DATABASE_SSL"] == "verify-full"
        assert variables["DATABASE_SSL_ROOT_CERT"] == "/var/task/handler/db/amazon-root-cas.pem"
        assert (variables["DATABASE_POOLER"], variables["DATABASE_IDLE_TIMEOUT"]) == (
            "transaction",
            "5",
        )
        assert "MIGRATE_ON_START" not in variables  # migrations are the deploy's, not a container's
        private = {
            s["SubnetId"]
            for s in client("ec2", moto_endpoint).describe_subnets()["Subnets"]
            if {"Key": "Tier", "Value": "private"} in s.get("Tags", [])
        }
        assert set(function["VpcConfig"]["SubnetIds"]) == private
        url = lam.get_function_url_config(FunctionName=FUNCTION, Qualifier="live")
        assert url["InvokeMode"] == "RESPONSE_STREAM" and "Cors" not in url
        first = alias_version()
        assert first == outputs["function_version"]["value"] != "$LATEST"
        alarms = client("cloudwatch", moto_endpoint).describe_alarms()["MetricAlarms"]
        topic = outputs["alarm_topic_arn"]["value"]
        assert {a["MetricName"] for a in alarms} == {
            "Errors",
            "Throttles",
            "Duration",
            "ConcurrentExecutions",
            "FreeStorageSpace",
            "CPUUtilization",
            "DatabaseConnections",
            "ErrorPortAllocation",
            "ServerErrors",
            "TimeToFirstToken",
        }
        assert all(a["AlarmActions"] == [topic] for a in alarms)
        attributes = client("sns", moto_endpoint).get_topic_attributes(TopicArn=topic)
        assert attributes["Attributes"]["KmsMasterKeyId"] == outputs["kms_key_arn"]["value"]

        # Password rotation, as far as moto goes: the guide's rotate-secret,
        # then the new value RDS's managed rotation would store (moto has no
        # rotation function, so it stores the new password itself). Nothing in
        # Terraform holds the password: the plan stays empty and the function
        # still names the secret, which the app re-reads on an auth failure.
        master = outputs["database_master_secret_arn"]["value"]
        (rotate,) = deploy_guide.starting_with("aws secretsmanager rotate-secret")
        run(rotate)
        secrets.put_secret_value(
            SecretId=master,
            SecretString=json.dumps({**before, "password": "rotated-by-rds"}),
        )
        assert json.loads(run(get_password).stdout)["password"] == "rotated-by-rds"
        assert plan_drift() == []
        assert variables["DATABASE_OWNER_SECRET_ARN"] == master

        # Protected: make destroy refuses before touching anything.
        state_before = terraform(workdir, "state", "list").stdout
        refused = run("make destroy", ok=False)
        assert refused.returncode != 0
        assert "Refusing to destroy" in refused.stderr
        assert terraform(workdir, "state", "list").stdout == state_before
        assert lam.get_function(FunctionName=FUNCTION)["Configuration"]["State"]

        # A second release (protection off, more memory), then a rollback to the first.
        settings(db_deletion_protection=False, memory_size=768)
        run("make deploy")
        second = alias_version()
        assert int(second) > int(first)
        rolled = run("make rollback").stdout
        assert alias_version() == first
        # Stated, not silently restored: the older version keeps its own settings.
        assert f"runs with the settings it was published with, not version {second}'s" in rolled
        assert "MemorySize" in rolled
        assert (workdir / "live.auto.tfvars").read_text().endswith(f'live_version = "{first}"\n')
        assert plan_drift() == []  # Terraform agrees: the pin is an input
        # The URL's permissions live on the alias, so they survive its moves.
        policy = json.loads(json.loads(run(policy_command).stdout)["Policy"])
        assert len(policy["Statement"]) == 2

        # An unrelated apply publishes a third version and keeps serving the pinned one.
        settings(memory_size=1024)
        deployed_again = run("make deploy")
        said = (deployed_again.stdout + deployed_again.stderr).replace("│", " ")
        assert f"The Function URL serves version {first}, pinned" in " ".join(said.split())
        third = guide.outputs()["function_version"]["value"]
        assert int(third) > int(second) and alias_version() == first
        assert guide.outputs()["live_version"]["value"] == first
        (clear,) = deploy_guide.starting_with("make rollback CLEAR=1")
        run(clear)
        assert alias_version() == third and not (workdir / "live.auto.tfvars").exists()
        assert plan_drift() == []

        # A URL permission deleted out of band is no drift to Terraform; the guide's
        # command adds it again.
        lam.remove_permission(
            FunctionName=FUNCTION, Qualifier="live", StatementId="FunctionURLAllowInvokeAction"
        )
        assert plan_drift() == []
        (readd,) = deploy_guide.starting_with("make deploy TF_ARGS=")
        run(readd.replace('TF_ARGS="', 'TF_ARGS="-auto-approve -no-color '))
        policy = json.loads(json.loads(run(policy_command).stdout)["Policy"])
        assert sorted(s["Sid"] for s in policy["Statement"]) == [
            "FunctionURLAllowInvokeAction",
            "FunctionURLAllowPublicAccess",
        ]
    finally:
        if deployed:
            # From a fresh checkout: no package (the module must not hash it on destroy).
            package.unlink(missing_ok=True)
            run("make destroy")
    assert not (workdir.parent / "dist" / "deploy.zip").exists()

    # Everything went but what the final snapshot needs; a second destroy has nothing to do.
    assert terraform(workdir, "state", "list").stdout.strip() == ""
    assert "Nothing to destroy" in run("make destroy").stdout
    rds = client("rds", moto_endpoint)
    assert lam.list_functions()["Functions"] == []
    assert rds.describe_db_instances()["DBInstances"] == []
    assert rds.describe_db_proxies()["DBProxies"] == []
    vpcs = client("ec2", moto_endpoint).describe_vpcs()["Vpcs"]
    assert [v for v in vpcs if not v["IsDefault"]] == []
    (snapshot,) = rds.describe_db_snapshots()["DBSnapshots"]
    assert snapshot["DBSnapshotIdentifier"] == outputs["database_final_snapshot"]["value"]
    key = client("kms", moto_endpoint).describe_key(KeyId=outputs["kms_key_arn"]["value"])
    assert key["KeyMetadata"]["KeyState"] == "Enabled"
    assert snapshot["KmsKeyId"] == outputs["kms_key_arn"]["value"]
    app_secret = secrets.describe_secret(SecretId=outputs["app_secret_arn"]["value"])
    assert "DeletedDate" not in app_secret


def test_a_throw_away_stack_goes_entirely(moto_endpoint, tmp_path):
    """No protection, no final snapshot, no alarms, no proxy: `make destroy` leaves
    nothing, the key included (its deletion scheduled, as AWS always does)."""
    guide = Guide(moto_endpoint, tmp_path)
    (cp,) = deploy_guide.starting_with("cp ")
    guide.run(cp)
    guide.settings(
        region=REGION,
        azs=[f"{REGION}a", f"{REGION}b"],
        secrets_extension_layer_arn=guide.layer,
        environment="dev",
        enable_rds_proxy=False,
        db_deletion_protection=False,
        db_skip_final_snapshot=True,
        db_multi_az=False,
        single_nat_gateway=True,
        alarms_enabled=False,
    )
    # Nothing deployed yet: rollback says so, and never hands Terraform's warning to the CLI.
    refused = guide.run("make rollback", ok=False)
    assert refused.returncode != 0
    assert "Nothing to roll back: the Terraform state" in refused.stderr
    assert "Warning" not in refused.stderr and "aws lambda" not in refused.stderr
    guide.run("make package")
    try:
        guide.run("make deploy")
        outputs = guide.outputs()
        assert outputs["retained_on_destroy"]["value"] == []
        # `terraform output -json` leaves null outputs out.
        assert "database_final_snapshot" not in outputs and "alarm_topic_arn" not in outputs
        function = client("lambda", moto_endpoint).get_function(FunctionName="debugflow-dev")
        # Straight to the instance, so the app verifies its certificate with the RDS bundle
        # (its default CA file), and no pooler sits between.
        variables = function["Configuration"]["Environment"]["Variables"]
        assert variables["DATABASE_SSL"] == "verify-full"
        assert variables["DATABASE_SSL_ROOT_CERT"] == ""
        assert (variables["DATABASE_POOLER"], variables["DATABASE_IDLE_TIMEOUT"]) == ("none", "0")
    finally:
        guide.package.unlink(missing_ok=True)
        guide.run("make destroy")
    assert terraform(guide.workdir, "state", "list").stdout.strip() == ""
    key = client("kms", moto_endpoint).describe_key(KeyId=outputs["kms_key_arn"]["value"])
    assert key["KeyMetadata"]["KeyState"] == "PendingDeletion"
    secret = client("secretsmanager", moto_endpoint).describe_secret(
        SecretId=outputs["app_secret_arn"]["value"]
    )
    assert "DeletedDate" in secret
    rds = client("rds", moto_endpoint)
    assert [
        i
        for i in rds.describe_db_instances()["DBInstances"]
        if i["DBInstanceIdentifier"] == "debugflow-dev"
    ] == []
    assert [
        s
        for s in rds.describe_db_snapshots()["DBSnapshots"]
        if s["DBInstanceIdentifier"] == "debugflow-dev"
    ] == []


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
