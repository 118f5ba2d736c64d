#!/bin/sh
# Adds (or removes) the second statement a public Function URL needs:
# lambda:InvokeFunction for "*", only when invoked through the function URL
# (condition lambda:InvokedViaFunctionUrl = true). Run by terraform_data in
# main.tf with AWS_CLI, AWS_REGION, FUNCTION_NAME, QUALIFIER and STATEMENT_ID.
set -eu

action=$1
aws=${AWS_CLI:-aws}

has_statement() {
  # get-policy fails when the alias has no policy yet: then there is no statement.
  policy=$($aws lambda get-policy --region "$AWS_REGION" --function-name "$FUNCTION_NAME" \
    --qualifier "$QUALIFIER" --query Policy --output text 2>/dev/null) || return 1
  case $policy in
    *"\"Sid\":\"$STATEMENT_ID\""* | *"\"Sid\": \"$STATEMENT_ID\""*) return 0 ;;
    *) return 1 ;;
  esac
}

case $action in
  add)
    # Idempotent: AWS answers 409 ResourceConflictException to a repeated statement id.
    if has_statement; then
      echo "$FUNCTION_NAME:$QUALIFIER already has $STATEMENT_ID"
      exit 0
    fi
    $aws lambda add-permission --region "$AWS_REGION" --function-name "$FUNCTION_NAME" \
      --qualifier "$QUALIFIER" --statement-id "$STATEMENT_ID" \
      --action lambda:InvokeFunction --principal '*' --invoked-via-function-url >/dev/null
    echo "added $STATEMENT_ID to $FUNCTION_NAME:$QUALIFIER"
    ;;
  remove)
    if has_statement; then
      $aws lambda remove-permission --region "$AWS_REGION" --function-name "$FUNCTION_NAME" \
        --qualifier "$QUALIFIER" --statement-id "$STATEMENT_ID"
      echo "removed $STATEMENT_ID from $FUNCTION_NAME:$QUALIFIER"
    fi
    ;;
  *)
    echo "usage: $0 add|remove" >&2
    exit 2
    ;;
esac
