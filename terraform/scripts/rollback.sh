#!/bin/sh
# `make rollback`: points the Function URL's alias at the version published
# before the one it serves now. Nothing is rebuilt; the next `make deploy`
# moves it forward again.
set -eu

terraform=${TERRAFORM:-terraform}
aws=${AWS_CLI:-aws}
out() { "$terraform" -chdir="$TF_DIR" output -raw "$1"; }

region=$(out region)
function=$(out function_name)
alias=$(out function_alias)

current=$($aws lambda get-alias --region "$region" --function-name "$function" \
  --name "$alias" --query FunctionVersion --output text)
previous=$($aws lambda list-versions-by-function --region "$region" --function-name "$function" \
  --query 'Versions[].Version' --output text | tr '\t' '\n' | grep -E '^[0-9]+$' |
  awk -v current="$current" '$1 < current + 0 && $1 > best { best = $1 } END { if (best) print best }')

if [ -z "$previous" ]; then
  echo "No version older than $current to roll back to." >&2
  exit 1
fi
$aws lambda update-alias --region "$region" --function-name "$function" --name "$alias" \
  --function-version "$previous" >/dev/null
echo "$function:$alias now serves version $previous (was $current)."
