"""The AWS CLI's `aws lambda invoke`, answered by a local function (the Lambda emulator).

Run as `python -m tests.standins.aws_cli lambda invoke --function-name F ...
--payload JSON OUTFILE` (a test puts a script named `aws` that does so on PATH).
It sends the payload to AWS_STANDIN_URL, where the test invokes the emulated
function, writes what comes back to OUTFILE as Invoke does (for a streamed
function: the prelude, eight NUL bytes, the body), and prints Invoke's summary.
Each call's arguments are appended to AWS_STANDIN_LOG as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aws")
    parser.add_argument("service", choices=["lambda"])
    parser.add_argument("operation", choices=["invoke"])
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--qualifier")
    parser.add_argument("--region")
    parser.add_argument("--cli-binary-format", choices=["raw-in-base64-out"], required=True)
    parser.add_argument("--payload", required=True)
    parser.add_argument("outfile")
    args = parser.parse_args(argv)
    with open(os.environ["AWS_STANDIN_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(vars(args)) + "\n")
    request = urllib.request.Request(
        os.environ["AWS_STANDIN_URL"], data=args.payload.encode(), method="POST"
    )
    with urllib.request.urlopen(request) as response:
        payload = response.read()
    with open(args.outfile, "wb") as out:
        out.write(payload)
    print(json.dumps({"StatusCode": 200, "ExecutedVersion": "7"}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
