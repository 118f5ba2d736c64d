#!/bin/sh
# `make rollback`: the Function URL serves the version published before the one
# it serves now, at once (AWS CLI) and for good: live.auto.tfvars in $TF_DIR
# sets live_version, so later applies keep serving it. `make rollback CLEAR=1`
# removes the file and serves the newest version again. A version runs with
# the environment it was published with: what differs is printed, never
# silently taken over.
set -eu

terraform=${TERRAFORM:-terraform}
aws=${AWS_CLI:-aws}
live_file="$TF_DIR/live.auto.tfvars"

# Outputs as JSON: with no state, `terraform output` prints a warning box, which
# must never end up as a region on the AWS CLI's command line.
outputs=$("$terraform" -chdir="$TF_DIR" output -json 2>/dev/null) || outputs=""
value() {
  printf '%s' "$outputs" | python3 -c 'import json, sys
try:
    print(json.load(sys.stdin).get(sys.argv[1], {}).get("value") or "")
except ValueError:
    print("")' "$1"
}
region=$(value region)
function=$(value function_name)
alias=$(value function_alias)
newest=$(value function_version)
if [ -z "$region" ] || [ -z "$function" ] || [ -z "$alias" ] || [ -z "$newest" ]; then
  echo "Nothing to roll back: the Terraform state in $TF_DIR has no deployment outputs (run make deploy first, or point TF_DIR at the stack's folder)." >&2
  exit 1
fi

current=$($aws lambda get-alias --region "$region" --function-name "$function" \
  --name "$alias" --query FunctionVersion --output text)

if [ "${CLEAR:-}" = 1 ]; then
  rm -f "$live_file"
  target=$newest
else
  target=$($aws lambda list-versions-by-function --region "$region" --function-name "$function" \
    --query 'Versions[].Version' --output text | tr '\t' '\n' | grep -E '^[0-9]+$' |
    awk -v current="$current" '$1 < current + 0 && $1 > best { best = $1 } END { if (best) print best }')
  if [ -z "$target" ]; then
    echo "No version older than $current to roll back to." >&2
    exit 1
  fi
fi

$aws lambda update-alias --region "$region" --function-name "$function" --name "$alias" \
  --function-version "$target" >/dev/null
if [ "${CLEAR:-}" = 1 ]; then
  echo "$function:$alias serves the newest version, $target, again (was $current); live_version cleared."
  exit 0
fi
cat >"$live_file" <<TFVARS
# Written by \`make rollback\`: the Function URL keeps serving this version
# through later applies. \`make rollback CLEAR=1\` serves the newest again.
live_version = "$target"
TFVARS
echo "$function:$alias now serves version $target (was $current), and keeps serving it:"
echo "$live_file sets live_version = \"$target\" for every later apply; make rollback CLEAR=1 serves the newest again."
changed=$(
  for version in "$target" "$current"; do
    $aws lambda get-function-configuration --region "$region" --function-name "$function" \
      --qualifier "$version" --output json
  done | python3 -c 'import json, sys
text, decoder, found = sys.stdin.read(), json.JSONDecoder(), []
at = 0
while len(found) < 2:
    while text[at].isspace():
        at += 1
    value, at = decoder.raw_decode(text, at)
    found.append(value)
old, new = ((c.get("Environment") or {}).get("Variables") or {} for c in found)
names = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
settings = [k for k in ("MemorySize", "Timeout", "Runtime") if found[0].get(k) != found[1].get(k)]
print(", ".join(names + settings))'
)
if [ -n "$changed" ]; then
  echo "Version $target runs with the settings it was published with, not version $current's; they differ in: $changed."
else
  echo "Version $target was published with the same environment as version $current."
fi
