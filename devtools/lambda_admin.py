"""`make admin ARGS="grant super_user UID"` (or `ARGS=migrate`): an operator command run
inside the deployed function, with no tunnel into its VPC.

It calls `aws lambda invoke` (IAM-authorised: the caller needs lambda:InvokeFunction
on the function) with a management event, `{"debugflow": {"command", "args"}}`,
which the function's runtime hands to its /internal/manage route; the Function URL
can never deliver one. Prints the command's output, or its error and exits 1.

Run: python -m devtools.lambda_admin --function NAME [--qualifier ALIAS]
[--region REGION] grant super_user UID
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# A streamed function's payload, read with the plain Invoke API: the response's
# prelude (status and headers as JSON), eight NUL bytes, then the body.
DELIMITER = b"\0" * 8


class InvokeFailed(Exception):
    """The command did not run, or the function refused it; the message says why."""


def management_event(words: list[str]) -> dict[str, Any]:
    return {"debugflow": {"command": words[0], "args": words[1:]}}


def read_payload(raw: bytes) -> tuple[int, Any]:
    """(HTTP status, JSON body) from the payload of a streamed or a buffered function."""
    if DELIMITER in raw:
        prelude, body = raw.split(DELIMITER, 1)
        return json.loads(prelude)["statusCode"], json.loads(body)
    result = json.loads(raw)
    if "errorMessage" in result:  # the function failed before answering
        raise InvokeFailed(f"{result.get('errorType', 'Error')}: {result['errorMessage']}")
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body)
    return result["statusCode"], json.loads(body)


def invoke(aws: str, function: str, qualifier: str | None, region: str | None, words: list[str]):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "payload"
        command = [aws, "lambda", "invoke", "--function-name", function]
        command += ["--qualifier", qualifier] if qualifier else []
        command += ["--region", region] if region else []
        command += [
            "--cli-binary-format",
            "raw-in-base64-out",
            "--payload",
            json.dumps(management_event(words)),
            str(out),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise InvokeFailed(f"{aws}: not found; install the AWS CLI") from None
        if done.returncode != 0:
            raise InvokeFailed(done.stderr.strip() or f"aws exited {done.returncode}")
        status, body = read_payload(out.read_bytes())
    if status != 200:
        raise InvokeFailed(body.get("error", body) if isinstance(body, dict) else body)
    return body["output"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.lambda_admin",
        description="Run an operator command (grant ROLE UID [--replace], migrate) inside the "
        "deployed function through `aws lambda invoke`.",
    )
    parser.add_argument("--function", required=True, help="the function's name")
    parser.add_argument("--qualifier", help="the alias the Function URL serves")
    parser.add_argument("--region")
    parser.add_argument("--aws", default="aws", help="the AWS CLI to run")
    parser.add_argument("words", nargs=argparse.REMAINDER, help="grant ROLE UID, or migrate")
    args = parser.parse_args(argv)
    if not args.function:
        parser.error("no function name: has the stack been applied? (terraform output)")
    if not args.words:
        parser.error("which command? grant ROLE UID [--replace], or migrate")
    try:
        print(invoke(args.aws, args.function, args.qualifier, args.region, args.words))
    except InvokeFailed as exc:
        print(f"admin: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
