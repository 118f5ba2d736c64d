#!/bin/sh
# `make deploy` runs this before `terraform apply`: the apply calls the AWS CLI
# for the public URL's second permission (add-permission
# --invoked-via-function-url, which provider 5.100 cannot express) only after
# the URL exists, so a missing or older CLI would leave a URL answering 403.
# The CLI's own skeleton of add-permission tells whether it knows the option:
# offline, no credentials, the same for CLI v1 and v2.
set -eu

aws=${AWS_CLI:-aws}
install="install awscli 1.42.50 or later (pip install 'awscli>=1.42.50'), or AWS CLI v2 of October 2025 or later"

if ! command -v "$aws" >/dev/null 2>&1; then
  echo "make deploy needs the AWS CLI, and '$aws' is not on PATH: $install." >&2
  exit 1
fi
skeleton=$("$aws" lambda add-permission --generate-cli-skeleton input 2>/dev/null) || skeleton=""
case $skeleton in
  *'"InvokedViaFunctionUrl"'*) ;;
  *)
    version=$("$aws" --version 2>&1 | head -n 1) || version="version unknown"
    echo "make deploy needs an AWS CLI that knows add-permission --invoked-via-function-url; '$aws' ($version) does not: $install." >&2
    exit 1
    ;;
esac
