"""Plans of the real modules, offline, asserted on their JSON."""

import json
from pathlib import Path

import pytest
import tftest

from tests.standins.moto_secrets_manager import SecretsManager
from tests.terraform_support import TERRAFORM_DIR as TERRAFORM
from tests.terraform_support import prepare, terraform, variables

SENTINEL = "hf_SENTINEL_do_not_leak_123"


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pkg") / "deploy.zip"
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: plans only hash it
    return path


@pytest.fixture(scope="module")
def tf(tmp_path_factory) -> tftest.TerraformTest:
    # A plan opens the ephemeral password generator (Secrets Manager's
    # GetRandomPassword); moto answers it. Without refresh nothing else is called.
    server = SecretsManager.start()
    yield prepare(tmp_path_factory.mktemp("tf") / "terraform", endpoint=server.url)
    server.stop()


_plans: dict[str, dict] = {}


def plan(tf, package, **overrides) -> dict:
    """Plans are pure functions of their variables here, so each set of values is
    planned once: an override equal to the value the default plan used is no change."""
    if overrides:
        used = plan(tf, package)["variables"]
        overrides = {
            name: value
            for name, value in overrides.items()
            if name not in used or used[name].get("value") != value
        }
    key = json.dumps([str(package), overrides], sort_keys=True)
    if key not in _plans:
        _plans[key] = tf.plan(output=True, tf_vars=variables(package, **overrides), refresh=False)
    return _plans[key]


def resources(planned: dict, type_: str) -> list[dict]:
    return [r for r in planned["resource_changes"] if r["type"] == type_]


def after(planned: dict, address: str) -> dict:
    (change,) = [r for r in planned["resource_changes"] if r["address"] == address]
    return change["change"]["after"]


def references(planned: dict, module: str, resource: str, attribute: str) -> list[str]:
    config = planned["configuration"]["root_module"]["module_calls"][module]["module"]
    (found,) = [r for r in config["resources"] if r["address"] == resource]
    return found["expressions"][attribute].get("references", [])


def module_argument(planned: dict, module: str, argument: str) -> list[str]:
    call = planned["configuration"]["root_module"]["module_calls"][module]
    return call["expressions"][argument].get("references", [])


def test_format_and_validate(tf):
    fmt = terraform(Path(tf.tfdir), "fmt", "-check", "-recursive", "-diff")  # a copy of terraform/
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    result = terraform(Path(tf.tfdir), "validate", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr


def test_function_url_streams_without_cors_from_the_live_alias(tf, package):
    planned = plan(tf, package)
    url = after(planned, "module.function.aws_lambda_function_url.this")
    assert url["invoke_mode"] == "RESPONSE_STREAM"
    assert url["authorization_type"] == "NONE"
    assert url["cors"] == []
    assert url["qualifier"] == "live"
    assert after(planned, "module.function.aws_lambda_alias.live")["name"] == "live"
    assert after(planned, "module.function.aws_lambda_function.this")["publish"] is True


def test_public_url_permissions_are_the_two_aws_accepts(tf, package):
    """Statement 1 comes from provider 5.100's URL resource itself (a second
    FunctionURLAllowPublicAccess would collide on its Sid); statement 2 goes
    through the AWS CLI, because aws_lambda_permission 5.100 can only condition
    InvokeFunction on FunctionUrlAuthType, which AWS refuses (400)."""
    planned = plan(tf, package)
    assert resources(planned, "aws_lambda_permission") == []
    (permission,) = [
        r for r in resources(planned, "terraform_data") if "invoke_via_url" in r["address"]
    ]
    assert permission["change"]["after"]["input"]["sid"] == "FunctionURLAllowInvokeAction"
    assert permission["change"]["after"]["input"]["qualifier"] == "live"
    script = (TERRAFORM / "modules/function/scripts/invoke-via-url-permission.sh").read_text()
    assert "--action lambda:InvokeFunction --principal '*' --invoked-via-function-url" in script
    assert "--function-url-auth-type" not in script


def test_iam_urls_get_no_public_permission(tf, package):
    planned = plan(tf, package, authorization_type="AWS_IAM")
    assert [
        r for r in resources(planned, "terraform_data") if "invoke_via_url" in r["address"]
    ] == []


def test_function_runs_our_wrapper_in_the_private_subnets(tf, package):
    planned = plan(tf, package)
    function = after(planned, "module.function.aws_lambda_function.this")
    assert function["runtime"] == "python3.12"
    assert function["architectures"] == ["x86_64"]
    assert function["memory_size"] == 512
    assert 60 <= function["timeout"] <= 120
    assert function["reserved_concurrent_executions"] == -1  # none reserved by default
    reserved = after(
        plan(tf, package, reserved_concurrency=10), "module.function.aws_lambda_function.this"
    )
    assert reserved["reserved_concurrent_executions"] == 10
    assert function["layers"][0].endswith("AWS-Parameters-and-Secrets-Lambda-Extension:1")
    assert module_argument(planned, "function", "subnet_ids") == [
        "module.network.private_subnet_ids",
        "module.network",
    ]
    config = planned["configuration"]["root_module"]["module_calls"]["function"]["module"]
    (lambda_config,) = [
        r for r in config["resources"] if r["address"] == "aws_lambda_function.this"
    ]
    vpc = lambda_config["expressions"]["vpc_config"][0]
    assert "var.subnet_ids" in vpc["subnet_ids"]["references"]
    env_refs = lambda_config["expressions"]["environment"][0]["variables"]["references"]
    assert "local.exec_wrapper" in env_refs and "var.invoke_mode" in env_refs
    # The environment map is unknown until apply (it holds the database host):
    # the apply test reads the wrapper variable back from the created function.


def test_database_is_private_encrypted_tls_only_and_reached_only_by_the_function(tf, package):
    planned = plan(tf, package)
    db = after(planned, "module.database.aws_db_instance.this")
    assert db["publicly_accessible"] is False
    assert db["engine_version"] == "16"  # major only: RDS picks and upgrades minors
    assert db["auto_minor_version_upgrade"] is True
    assert db["backup_window"] == "02:00-03:00"
    assert db["maintenance_window"] == "sun:04:00-sun:05:00"
    assert db["storage_encrypted"] is True
    assert db["manage_master_user_password"] is True
    assert db["deletion_protection"] is True and db["skip_final_snapshot"] is False
    assert db["performance_insights_enabled"] is True
    assert db["backup_retention_period"] >= 1
    assert set(db["enabled_cloudwatch_logs_exports"]) == {"postgresql", "upgrade"}
    params = after(planned, "module.database.aws_db_parameter_group.this")["parameter"]
    assert {"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"} in params
    assert {"name": "log_parameter_max_length", "value": "0", "apply_method": "immediate"} in params
    assert after(planned, "module.database.aws_db_parameter_group.this")["family"] == "postgres16"
    ingress = resources(planned, "aws_vpc_security_group_ingress_rule")
    db_rules = [r for r in ingress if r["address"].startswith("module.database.")]
    # The instance admits the function and the proxy (the default), the proxy the
    # function: by security group only.
    assert sorted(r["address"] for r in db_rules) == [
        "module.database.aws_vpc_security_group_ingress_rule.from_function",
        "module.database.aws_vpc_security_group_ingress_rule.from_proxy[0]",
        "module.database.aws_vpc_security_group_ingress_rule.proxy_from_function[0]",
    ]
    assert all(r["change"]["after"]["cidr_ipv4"] is None for r in db_rules)
    assert references(
        planned,
        "database",
        "aws_vpc_security_group_ingress_rule.from_function",
        "referenced_security_group_id",
    ) == ["var.client_security_group_id"]
    assert module_argument(planned, "database", "client_security_group_id") == [
        "module.function.security_group_id",
        "module.function",
    ]


def test_admin_cidrs_open_5432_to_them_only(tf, package):
    planned = plan(tf, package, admin_cidr_blocks=["10.99.0.0/24"])
    (rule,) = [
        r
        for r in resources(planned, "aws_vpc_security_group_ingress_rule")
        if "from_admin" in r["address"]
    ]
    assert rule["change"]["after"]["cidr_ipv4"] == "10.99.0.0/24"
    assert rule["change"]["after"]["from_port"] == 5432


@pytest.mark.parametrize(("single", "count"), [(False, 2), (True, 1)])
def test_nat_gateways_follow_the_toggle(tf, package, single, count):
    planned = plan(tf, package, single_nat_gateway=single)
    assert len(resources(planned, "aws_nat_gateway")) == count
    assert len(resources(planned, "aws_eip")) == count
    assert len(resources(planned, "aws_route")) == 3  # internet + one per private table


def test_network_basics(tf, package):
    planned = plan(tf, package)
    # Adopting the default group with no rules removes all of its rules.
    network = planned["configuration"]["root_module"]["module_calls"]["network"]["module"]
    (default_sg,) = [r for r in network["resources"] if r["type"] == "aws_default_security_group"]
    assert "ingress" not in default_sg["expressions"] and "egress" not in default_sg["expressions"]
    assert len(resources(planned, "aws_subnet")) == 4
    for subnet in resources(planned, "aws_subnet"):
        assert subnet["change"]["after"]["map_public_ip_on_launch"] is False
    endpoint = after(planned, "module.network.aws_vpc_endpoint.secretsmanager")
    assert endpoint["service_name"] == "com.amazonaws.eu-west-1.secretsmanager"
    assert endpoint["private_dns_enabled"] is True
    assert after(planned, "module.network.aws_flow_log.this")["traffic_type"] == "ALL"


def test_proxy_toggle_adds_the_proxy_and_points_the_function_at_it(tf, package):
    without = plan(tf, package, enable_rds_proxy=False)
    assert resources(without, "aws_db_proxy") == []
    planned = plan(tf, package)  # the production default
    (proxy,) = resources(planned, "aws_db_proxy")
    assert proxy["change"]["after"]["require_tls"] is True
    assert proxy["change"]["after"]["engine_family"] == "POSTGRESQL"
    # It admits the service's login and the owner's (the migrate step), both by secret.
    assert [a["auth_scheme"] for a in proxy["change"]["after"]["auth"]] == ["SECRETS"] * 2
    config = planned["configuration"]["root_module"]["module_calls"]["database"]["module"]
    (proxy_config,) = [r for r in config["resources"] if r["address"] == "aws_db_proxy.this"]
    assert [b["secret_arn"]["references"][0] for b in proxy_config["expressions"]["auth"]] == [
        "aws_secretsmanager_secret.app_login.arn",
        "aws_db_instance.this.master_user_secret[0].secret_arn",
    ]
    (group,) = resources(planned, "aws_db_proxy_default_target_group")
    pool = group["change"]["after"]["connection_pool_config"][0]
    assert (
        pool["max_connections_percent"],
        pool["max_idle_connections_percent"],
        pool["connection_borrow_timeout"],
    ) == (75, 50, 10)
    assert len(resources(planned, "aws_db_proxy_target")) == 1
    # The function's DATABASE_URL is built from the database module's endpoint,
    # which is the proxy's when enabled (checked against moto in the apply test).
    function_env = planned["configuration"]["root_module"]["module_calls"]["function"][
        "expressions"
    ]["environment"]["references"]
    assert "module.database.endpoint" in function_env
    # The proxy's CA file and the pooler mode follow the toggle (read back in the apply test).
    assert "var.enable_rds_proxy" in function_env


def test_no_secret_value_in_the_plan_at_all(tf, package):
    """app_secret_values is ephemeral and written write-only: it reaches AWS, never the plan."""
    secrets = {"HUGGINGFACE_API_KEY": SENTINEL, "FIREBASE_PROJECT_ID": "demo-project"}
    planned = plan(tf, package, app_secret_values=secrets, app_secret_values_version=1)
    version = after(planned, "module.secrets.aws_secretsmanager_secret_version.app[0]")
    assert version["secret_string_wo_version"] == 1
    assert version.get("secret_string") in (None, "")
    recorded = (
        "variables",
        "resource_changes",
        "planned_values",
        "output_changes",
        "configuration",
    )
    assert SENTINEL not in json.dumps([planned[part] for part in recorded])
    without = plan(tf, package)
    assert [r["address"] for r in resources(without, "aws_secretsmanager_secret_version")] == [
        "module.database.aws_secretsmanager_secret_version.app_login"
    ]  # generated, write-only
    env_keys = planned["configuration"]["root_module"]["module_calls"]["function"]["expressions"][
        "environment"
    ]["references"]
    assert not any("app_secret_values" in ref for ref in env_keys)


def test_iam_statements_name_their_resources(tf, package):
    """No secret, database or KMS action is granted on "*" (except in the key's own policy,
    where "*" means the key itself)."""
    planned = plan(tf, package, enable_rds_proxy=True)
    root = planned["configuration"]["root_module"]
    documents = [
        (f"module.{name}.{r['address']}", r)
        for name, call in root["module_calls"].items()
        for r in call["module"]["resources"]
        if r["type"] == "aws_iam_policy_document"
    ]
    checked = 0
    for address, document in documents:
        for statement in document["expressions"].get("statement", []):
            actions = statement["actions"].get("constant_value", [])
            if not any(a.startswith(("secretsmanager:", "rds", "kms:")) for a in actions):
                continue
            checked += 1
            named = statement["resources"]
            assert named.get("references"), (address, actions)
            assert "*" not in named.get("constant_value", []), (address, actions)
    assert checked >= 4  # function: secrets and KMS; proxy: secret and KMS


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"invoke_mode": "STREAM"}, "invoke_mode must be RESPONSE_STREAM or BUFFERED"),
        ({"authorization_type": "OPEN"}, "authorization_type must be NONE or AWS_IAM"),
        ({"architecture": "sparc"}, "architecture must be x86_64 or arm64"),
        ({"admin_cidr_blocks": ["0.0.0.0/0"]}, "never 0.0.0.0/0"),
        ({"admin_cidr_blocks": ["not-a-cidr"]}, "admin_cidr_blocks must be valid"),
        ({"vpc_cidr": "10.0.0.0/28"}, "vpc_cidr must be an IPv4 network from /16 to /20"),
        ({"vpc_cidr": "10.0.0.0/21"}, "vpc_cidr must be an IPv4 network from /16 to /20"),
        ({"vpc_cidr": "10.0.0.0/12"}, "vpc_cidr must be an IPv4 network from /16 to /20"),
        ({"vpc_cidr": "10.20.1.0/16"}, "written with its network address"),
        ({"azs": ["eu-west-2a", "eu-west-2b"]}, "azs must be zones of the region"),
        ({"azs": ["eu-west-1a", "eu-west-1a"]}, "at least two distinct availability zones"),
        (
            {
                "secrets_extension_layer_arn": "arn:aws:lambda:us-east-1:123456789012:layer:"
                "AWS-Parameters-and-Secrets-Lambda-Extension:1"
            },
            "the layer of the deployment's region (eu-west-1)",
        ),
        ({"reserved_concurrency": 0}, "reserved_concurrency must be null or a whole number"),
        ({"reserved_concurrency": 2.5}, "reserved_concurrency must be null or a whole number"),
        ({"db_engine_version": "16.4"}, "without a minor"),
        ({"db_backup_window": "2am"}, "db_backup_window must look like"),
        ({"db_maintenance_window": "sunday"}, "db_maintenance_window must look like"),
        ({"alarm_email": "not-an-address"}, "alarm_email must be an e-mail address"),
        ({"memory_size": 64}, "memory_size must be 256-10240 MB"),
        ({"timeout": 30}, "timeout must be 60-120 seconds"),
        ({"timeout": 900}, "timeout must be 60-120 seconds"),
        ({"azs": ["eu-west-1a"]}, "at least two distinct availability zones"),
        ({"cors_origins": ["*"]}, "without paths or wildcards"),
        ({"account_id": "12345"}, "account_id must be 12 digits"),
        (
            {"secrets_extension_layer_arn": "arn:aws:lambda:eu-west-1:1:layer:x:1"},
            "AWS-Parameters-and-Secrets-Lambda-Extension layer version ARN",
        ),
    ],
)
def test_variable_validations_reject_bad_values(tf, package, overrides, message):
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(tf, package, **overrides)
    assert message in " ".join(failure.value.args[0].split())


def test_layer_must_match_the_architecture(tf, package):
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(tf, package, architecture="arm64")
    assert "built for the function's architecture" in " ".join(failure.value.args[0].split())


def test_writing_the_secret_needs_values(tf, package):
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(tf, package, app_secret_values_version=1)
    assert "writes values, but values is null" in " ".join(failure.value.args[0].split())


def test_the_package_must_exist_to_deploy(tf, tmp_path):
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(tf, tmp_path / "missing.zip")
    assert "run `make package` first" in " ".join(failure.value.args[0].split())


@pytest.mark.parametrize(
    ("manifest", "ok"),
    [
        ({"python_version": "3.12", "architecture": "x86_64", "sha256": "0"}, True),
        ({"python_version": "3.12", "architecture": "arm64", "sha256": "0"}, False),
        ({"python_version": "3.11", "architecture": "x86_64", "sha256": "0"}, False),
    ],
)
def test_the_package_must_be_built_for_the_function(tf, tmp_path, manifest, ok):
    """build.py records its target beside the zip; a zip for another target fails at cold start."""
    built = tmp_path / "deploy.zip"
    built.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (tmp_path / "deploy.zip.json").write_text(json.dumps(manifest))
    if ok:
        plan(tf, built)
        return
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(tf, built)
    assert "The package was built for" in " ".join(failure.value.args[0].split())


def test_alarms_notify_an_encrypted_topic(tf, package):
    planned = plan(tf, package, reserved_concurrency=10, alarm_email="ops@example.com")
    alarms = {
        r["change"]["after"]["metric_name"]: r["change"]["after"]
        for r in resources(planned, "aws_cloudwatch_metric_alarm")
    }
    assert set(alarms) == {
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
    assert alarms["Duration"]["threshold"] == 90 * 1000 * 0.9  # 90% of the timeout
    assert alarms["ConcurrentExecutions"]["threshold"] == 8  # 80% of 10
    assert len(resources(planned, "aws_cloudwatch_metric_alarm")) == 11  # one per NAT gateway
    (subscription,) = resources(planned, "aws_sns_topic_subscription")
    assert subscription["change"]["after"]["endpoint"] == "ops@example.com"
    assert references(planned, "alarms", "aws_sns_topic.alarms", "kms_master_key_id") == [
        "var.kms_key_arn"
    ]
    kms = planned["configuration"]["root_module"]["resources"]
    (policy,) = [r for r in kms if r["address"] == "data.aws_iam_policy_document.kms"]
    sids = [st["sid"]["constant_value"] for st in policy["expressions"]["statement"]]
    assert "CloudWatchAlarmsPublishToTheEncryptedTopic" in sids


def test_alarms_are_opt_out(tf, package):
    unreserved = plan(tf, package)
    names = [
        r["change"]["after"]["metric_name"]
        for r in resources(unreserved, "aws_cloudwatch_metric_alarm")
    ]
    assert "ConcurrentExecutions" not in names  # nothing reserved to approach
    assert resources(unreserved, "aws_sns_topic_subscription") == []
    off = plan(tf, package, alarms_enabled=False)
    assert resources(off, "aws_cloudwatch_metric_alarm") == []
    assert resources(off, "aws_sns_topic") == []


def test_flow_logs_role_is_for_this_accounts_flow_logs_only(tf, package):
    planned = plan(tf, package)
    network = planned["configuration"]["root_module"]["module_calls"]["network"]["module"]
    (trust,) = [
        r
        for r in network["resources"]
        if r["address"] == "data.aws_iam_policy_document.flow_logs_assume"
    ]
    conditions = trust["expressions"]["statement"][0]["condition"]
    assert {c["variable"]["constant_value"] for c in conditions} == {
        "aws:SourceAccount",
        "aws:SourceArn",
    }


def test_each_stack_has_its_own_final_snapshot_name(tf, package):
    planned = plan(tf, package)
    suffix = after(planned, "module.database.terraform_data.snapshot_suffix")["input"]
    assert len(suffix) == 14 and suffix.isdigit()  # creation time, kept for the stack's life
    assert references(planned, "database", "aws_db_instance.this", "final_snapshot_identifier") == [
        "var.skip_final_snapshot",
        "var.name",
        "terraform_data.snapshot_suffix.output",
        "terraform_data.snapshot_suffix",
    ]


def test_dashboard_and_app_alarms_read_as_an_operator_would(tf, package):
    """The dashboard's JSON and the two app alarms, from the plan: every graph names
    a metric the app or AWS publishes, with the dimensions it is published under."""
    planned = plan(tf, package, enable_rds_proxy=True, reserved_concurrency=10)
    function = after(planned, "module.function.aws_lambda_function.this")["function_name"]
    instance = after(planned, "module.database.aws_db_instance.this")["identifier"]
    proxy = after(planned, "module.database.aws_db_proxy.this[0]")["name"]
    (dashboard,) = resources(planned, "aws_cloudwatch_dashboard")
    body = json.loads(dashboard["change"]["after"]["dashboard_body"])
    widgets = body["widgets"]

    graphed = set()
    for widget in widgets:
        for line in widget["properties"].get("metrics", []):
            if isinstance(line[0], str):  # [namespace, name, dimension, value, options]
                graphed.add((line[0], line[1], line[2], line[3], line[4]["stat"]))
    app = {"Service": function}
    expected = {
        ("DebugFlow", name, "Service", function, stat)
        for name, stats in {
            "TimeToFirstToken": ("p50", "p90"),
            "AnswerDuration": ("p50", "p90"),
            "AnswerTokens": ("Average", "p90"),
            "Answers": ("Sum",),
            "AnswerFailures": ("Sum",),
            "ModelFallbacks": ("Sum",),
            "Requests": ("Sum",),
            "ClientErrors": ("Sum",),
            "ServerErrors": ("Sum",),
            "DatabaseRefusals": ("Sum",),
            "WebSearches": ("Sum",),
            "WebSearchFailures": ("Sum",),
        }.items()
        for stat in stats
    }
    expected |= {
        ("AWS/Lambda", name, "FunctionName", function, stat)
        for name, stat in [
            ("Invocations", "Sum"),
            ("Errors", "Sum"),
            ("Throttles", "Sum"),
            ("Duration", "p50"),
            ("Duration", "p90"),
            ("Duration", "Maximum"),
            ("ConcurrentExecutions", "Maximum"),
        ]
    }
    expected |= {
        ("AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", instance, "Maximum"),
        ("AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", instance, "Average"),
        ("AWS/RDS", "FreeableMemory", "DBInstanceIdentifier", instance, "Minimum"),
        ("AWS/RDS", "ClientConnections", "ProxyName", proxy, "Maximum"),
        ("AWS/RDS", "DatabaseConnections", "ProxyName", proxy, "Maximum"),
        ("AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned", "ProxyName", proxy, "Maximum"),
    }
    assert graphed == expected
    searches = [
        line[0]["expression"]
        for widget in widgets
        for line in widget["properties"].get("metrics", [])
        if isinstance(line[0], dict)
    ]
    assert searches == [
        f'SEARCH(\'{{"DebugFlow",Route,Service}} MetricName="{name}" Service="{function}"\','
        " 'Sum', 300)"
        for name in ("ServerErrors", "ClientErrors")
    ]
    (log_table,) = [w for w in widgets if w["type"] == "log"]
    log_group = after(planned, "module.function.aws_cloudwatch_log_group.this")["name"]
    assert log_table["properties"]["query"].startswith(f"SOURCE '{log_group}' |")
    assert "by error" in log_table["properties"]["query"]
    # Every alarm's state is on the first row, the app's two included.
    alarms = {
        r["change"]["after"]["alarm_name"]: r["change"]["after"]
        for r in resources(planned, "aws_cloudwatch_metric_alarm")
    }
    (alarm_row,) = [w for w in widgets if w["type"] == "alarm"]
    assert alarm_row["y"] == 0
    assert sorted(alarm_row["properties"]["alarms"]) == sorted(
        f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}" for name in alarms
    )
    # Laid out on CloudWatch's 24-unit grid without overlaps.
    cells = set()
    for w in widgets:
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24 and w["height"] > 0
        area = {
            (x, y)
            for x in range(w["x"], w["x"] + w["width"])
            for y in range(w["y"], w["y"] + w["height"])
        }
        assert not cells & area
        cells |= area

    errors = alarms["debugflow-prod-app-5xx"]
    assert (errors["namespace"], errors["metric_name"], errors["dimensions"]) == (
        "DebugFlow",
        "ServerErrors",
        app,
    )
    assert (errors["statistic"], errors["period"], errors["threshold"]) == ("Sum", 300, 5)
    first_token = alarms["debugflow-prod-time-to-first-token"]
    assert (first_token["metric_name"], first_token["dimensions"]) == ("TimeToFirstToken", app)
    assert first_token["extended_statistic"] == "p90"
    assert first_token["statistic"] is None
    assert (first_token["datapoints_to_alarm"], first_token["evaluation_periods"]) == (2, 3)
    assert first_token["threshold"] == 8000
    assert first_token["evaluate_low_sample_count_percentiles"] == "ignore"
    for alarm in (errors, first_token):
        assert alarm["treat_missing_data"] == "notBreaching"
    for name in ("app_server_errors", "time_to_first_token"):
        actions = references(
            planned, "alarms", f"aws_cloudwatch_metric_alarm.{name}", "alarm_actions"
        )
        assert "local.actions" in actions

    without = plan(tf, package, dashboard_enabled=False)
    assert resources(without, "aws_cloudwatch_dashboard") == []
    unproxied = plan(tf, package, enable_rds_proxy=False)
    (dashboard,) = resources(unproxied, "aws_cloudwatch_dashboard")
    assert "ProxyName" not in dashboard["change"]["after"]["dashboard_body"]


def test_the_services_login_is_generated_write_only_and_readable_by_function_and_proxy(tf, package):
    planned = plan(tf, package)
    secret = after(planned, "module.database.aws_secretsmanager_secret.app_login")
    assert "DML only, no DDL" in secret["description"]
    version = after(planned, "module.database.aws_secretsmanager_secret_version.app_login")
    assert version["secret_string_wo_version"] == 1
    assert version.get("secret_string") in (None, "")  # the password is in neither plan nor state
    config = planned["configuration"]["root_module"]["module_calls"]["database"]["module"]
    (version_config,) = [
        r
        for r in config["resources"]
        if r["address"] == "aws_secretsmanager_secret_version.app_login"
    ]
    assert (
        "ephemeral.aws_secretsmanager_random_password.app"
        in (version_config["expressions"]["secret_string_wo"]["references"])
    )
    assert "module.database.app_login_secret_arn" in module_argument(
        planned, "function", "secret_arns"
    )
    (policy,) = [
        r for r in config["resources"] if r["address"] == "data.aws_iam_policy_document.proxy"
    ]
    (read,) = [
        b for b in policy["expressions"]["statement"] if "GetSecretValue" in str(b["actions"])
    ]
    assert "aws_secretsmanager_secret.app_login.arn" in read["resources"]["references"]


def test_a_pinned_live_version_holds_the_alias_and_says_so(tf, package):
    newest = plan(tf, package)
    alias = "module.function.aws_lambda_alias.live"
    (change,) = [r for r in newest["resource_changes"] if r["address"] == alias]
    assert change["change"]["after_unknown"]["function_version"] is True  # the new version
    assert [
        c["status"] for c in newest.get("checks", []) if "live_version" in c["address"]["name"]
    ] != ["fail"]
    pinned = plan(tf, package, live_version="3")
    assert after(pinned, alias)["function_version"] == "3"
    (check,) = [c for c in pinned["checks"] if c["address"]["name"] == "live_version_is_the_newest"]
    assert check["status"] == "fail"  # a warning: the plan goes on
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(tf, package, live_version="latest")
    assert "live_version must be null or a published version number" in " ".join(
        failure.value.args[0].split()
    )


def test_the_provider_refuses_credentials_of_another_account(tf, package):
    """moto's credentials are account 123456789012's: a stack for another account stops
    before anything is planned."""
    planned = plan(tf, package)
    provider = planned["configuration"]["provider_config"]["aws"]["expressions"]
    assert provider["allowed_account_ids"]["references"] == ["var.account_id"]
    with pytest.raises(tftest.TerraformTestError) as failure:
        plan(tf, package, account_id="210987654321")
    assert "AWS account ID not allowed: 123456789012" in " ".join(failure.value.args[0].split())
