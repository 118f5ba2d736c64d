"""Every command in docs/deploy.md is one the tests run, as written."""

from tests import deploy_guide

APPLY = "test_terraform_apply.py::test_deploy_guide_against_moto"
VERIFY = "test_verify.py::test_guide_commands_against_the_emulator"

# Each command of the guide, and the test that runs it.
REGION = '--region "$(terraform -chdir=terraform output -raw region)"'

# Each command of the guide, and the test that runs it.
RUN_BY = {
    'python -m handler admin grant super_user "$FIREBASE_UID"': (
        "test_admin.py::test_the_deploy_guide_grant_command_as_written"
    ),
    "cp terraform/terraform.tfvars.example terraform/terraform.tfvars": APPLY,
    f"aws secretsmanager put-secret-value {REGION} --secret-id "
    '"$(terraform -chdir=terraform output -raw app_secret_arn)" '
    "--secret-string file://secrets.json": APPLY,
    "make package": APPLY,
    "make deploy": APPLY,
    'make admin ARGS="grant super_user $FIREBASE_UID"': (
        "test_manage.py::test_make_admin_invokes_the_stacks_function"
    ),
    "make admin ARGS=migrate": "test_manage.py::test_make_admin_invokes_the_stacks_function",
    "make verify URL=https://abc123.lambda-url.eu-west-1.on.aws": VERIFY,
    # The troubleshooting table names the same target.
    "make verify": VERIFY,
    "terraform -chdir=terraform output -raw function_url": APPLY,
    "make pgadmin-servers": APPLY,
    f"aws secretsmanager get-secret-value {REGION} --secret-id "
    '"$(terraform -chdir=terraform output -raw database_master_secret_arn)" '
    "--query SecretString --output text": APPLY,
    f"aws secretsmanager rotate-secret {REGION} --secret-id "
    '"$(terraform -chdir=terraform output -raw database_master_secret_arn)"': APPLY,
    "make rollback": APPLY,
    "make rollback CLEAR=1": APPLY,
    "make deploy TF_ARGS=\"-replace='module.function.terraform_data.invoke_via_url[0]'\"": APPLY,
    "make destroy": APPLY,
    "curl -si -X OPTIONS -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: "
    'POST\' "$URL/api/chat"': VERIFY,
    f"aws lambda get-policy {REGION} --function-name "
    '"$(terraform -chdir=terraform output -raw function_name)" --qualifier live': APPLY,
}


def test_every_guide_command_is_run_by_a_test():
    assert set(deploy_guide.commands()) == set(RUN_BY)


def test_the_readme_links_the_guide(repo_root):
    assert "docs/deploy.md" in (repo_root / "README.md").read_text()
