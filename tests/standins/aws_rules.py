"""A moto server taught the Lambda resource-policy rules AWS enforces and moto does not.

Run as `python -m tests.standins.aws_rules -H 127.0.0.1 -p PORT` (moto.server's
arguments). moto 5.x accepts any AddPermission, keeps one policy per function
whatever the qualifier, and never refuses a repeated statement id; a
configuration that AWS refuses therefore applied cleanly against it. Here:

- AddPermission with FunctionUrlAuthType on any action but
  lambda:InvokeFunctionUrl is refused: 400 InvalidParameterValueException
  "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action"
  (AWS's answer quoted in https://github.com/RJPearson94/terraform-aws-open-next/issues/73).
- A statement id already in the policy is refused: 409 ResourceConflictException
  "The statement id (X) provided already exists. ..." (AddPermission's errors,
  https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html; the
  message is the one provider 5.100 matches for FunctionURLAllowPublicAccess).
- Each qualifier (alias or version) has its own policy, as in AWS
  (AddPermission/GetPolicy/RemovePermission `Qualifier`): a statement added on
  the `live` alias is not on the function, and stays on the alias when the
  alias moves to another version. Deleting the function or the alias deletes
  their policies.
- FunctionUrlAuthType and InvokedViaFunctionUrl become the conditions AWS
  writes (lambda:FunctionUrlAuthType, lambda:InvokedViaFunctionUrl), as in the
  policies the console creates (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html).
- A function's LoggingConfig is kept and returned by GetFunction, with AWS's
  defaults (Text, /aws/lambda/<name>) when none was given
  (https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html).
  moto drops it, so every plan saw a change and, with publish = true,
  published a new version and moved the alias on every apply.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

from moto import server
from moto.awslambda import models, responses
from moto.awslambda.exceptions import LambdaClientError

# (account, region, function name, qualifier or "") -> statements, in order.
_policies: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
_lock = threading.Lock()


class InvalidParameterValue(LambdaClientError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValueException", message)


class ResourceConflict(LambdaClientError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ResourceConflictException", message)


class ResourceNotFound(LambdaClientError):
    code = 404

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


def _name(raw: str) -> str:
    """Function name from a name or ARN path segment (any qualifier in it is dropped)."""
    name = unquote(raw)
    if name.startswith("arn:"):
        return name.split(":")[6]
    return name.split(":")[0]


def _key(response: responses.LambdaResponse, name: str, qualifier: str | None) -> tuple:
    return (response.current_account, response.region, name, qualifier or "")


def statement_for(request: dict[str, Any], resource: str) -> dict[str, Any]:
    """The policy statement AWS stores for an AddPermission request (or the error it answers)."""
    action = request.get("Action", "")
    if "FunctionUrlAuthType" in request and action != "lambda:InvokeFunctionUrl":
        raise InvalidParameterValue(
            "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action"
        )
    principal = request.get("Principal", "")
    if principal.endswith(".amazonaws.com"):
        principal = {"Service": principal}
    elif principal != "*":
        principal = {"AWS": principal}
    condition: dict[str, dict[str, str]] = {}
    if "FunctionUrlAuthType" in request:
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = request[
            "FunctionUrlAuthType"
        ]
    if request.get("InvokedViaFunctionUrl"):
        condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
    if "SourceAccount" in request:
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = request["SourceAccount"]
    if "SourceArn" in request:
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = request["SourceArn"]
    statement = {
        "Sid": request.get("StatementId", ""),
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def add_permission(self: responses.LambdaResponse) -> str:
    name = _name(self.path.split("/")[-2])
    qualifier = self.querystring.get("Qualifier", [None])[0]
    self.backend.get_function(name, qualifier)  # 404 for an unknown function or alias
    arn = self.backend.get_function(name).function_arn
    resource = f"{arn}:{qualifier}" if qualifier else arn
    request = json.loads(self.body)
    statement = statement_for(request, resource)
    with _lock:
        policy = _policies.setdefault(_key(self, name, qualifier), [])
        if any(s["Sid"] == statement["Sid"] for s in policy):
            raise ResourceConflict(
                f"The statement id ({statement['Sid']}) provided already exists. Please provide "
                "a new statement id, or remove the existing statement."
            )
        policy.append(statement)
    return json.dumps({"Statement": json.dumps(statement)})


def get_policy(self: responses.LambdaResponse) -> str:
    name = _name(self.path.split("/")[-2])
    qualifier = self.querystring.get("Qualifier", [None])[0]
    self.backend.get_function(name, qualifier)
    with _lock:
        statements = list(_policies.get(_key(self, name, qualifier), []))
    if not statements:
        raise ResourceNotFound("The resource you requested does not exist.")
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
    return json.dumps({"Policy": json.dumps(policy), "RevisionId": "0"})


def remove_permission(self: responses.LambdaResponse) -> tuple[int, dict, str]:
    name = _name(self.path.split("/")[-3])
    sid = unquote(self.path.split("/")[-1].split("?")[0])
    qualifier = self.querystring.get("Qualifier", [None])[0]
    self.backend.get_function(name, qualifier)
    with _lock:
        policy = _policies.get(_key(self, name, qualifier), [])
        kept = [s for s in policy if s["Sid"] != sid]
        if len(kept) == len(policy):
            raise ResourceNotFound("The resource you requested does not exist.")
        _policies[_key(self, name, qualifier)] = kept
    return 204, {"status": 204}, ""


def _forget(account: str, region: str, name: str, qualifier: str | None) -> None:
    with _lock:
        for key in [k for k in _policies if k[:3] == (account, region, name)]:
            if qualifier is None or key[3] == qualifier:
                del _policies[key]


_init = models.LambdaFunction.__init__
_get_configuration = models.LambdaFunction.get_configuration
_update_configuration = models.LambdaFunction.update_configuration


def function_init(self: models.LambdaFunction, account_id: str, spec: dict, *args, **kwargs):
    _init(self, account_id, spec, *args, **kwargs)
    self.logging_config = {
        "LogFormat": "Text",
        "LogGroup": f"/aws/lambda/{self.function_name}",
        **(spec.get("LoggingConfig") or {}),
    }


def get_configuration(self: models.LambdaFunction, *args, **kwargs) -> dict[str, Any]:
    return {**_get_configuration(self, *args, **kwargs), "LoggingConfig": self.logging_config}


def update_configuration(self: models.LambdaFunction, updates: dict[str, Any]) -> dict[str, Any]:
    if "LoggingConfig" in updates:
        self.logging_config = {**self.logging_config, **updates["LoggingConfig"]}
    return _update_configuration(self, updates)


_delete_function = models.LambdaBackend.delete_function
_delete_alias = models.LambdaBackend.delete_alias


def delete_function(self: models.LambdaBackend, function_name: str, qualifier=None) -> None:
    _delete_function(self, function_name, qualifier)
    _forget(self.account_id, self.region_name, _name(function_name), qualifier)


def delete_alias(self: models.LambdaBackend, name: str, function_name: str) -> None:
    _delete_alias(self, name, function_name)
    _forget(self.account_id, self.region_name, _name(function_name), name)


def install() -> None:
    responses.LambdaResponse.add_permission = add_permission
    responses.LambdaResponse.get_policy = get_policy
    responses.LambdaResponse.remove_permission = remove_permission
    models.LambdaFunction.__init__ = function_init
    models.LambdaFunction.get_configuration = get_configuration
    models.LambdaFunction.update_configuration = update_configuration
    models.LambdaBackend.delete_function = delete_function
    models.LambdaBackend.delete_alias = delete_alias


if __name__ == "__main__":
    install()
    server.main()
