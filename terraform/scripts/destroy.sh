#!/bin/sh
# `make destroy`: tears the stack in $TF_DIR down, refusing before anything is
# touched while the database's deletion protection is on, and keeping what a
# final snapshot needs (the KMS key that decrypts it, the application secret).
# Extra arguments go to `terraform destroy` (e.g. -auto-approve, -var-file=...).
set -euf # -f: addresses like x[0] are words, never globs

terraform=${TERRAFORM:-terraform}
tf() { "$terraform" -chdir="$TF_DIR" "$@"; }

if [ -z "$(tf state list)" ]; then
  echo "Nothing to destroy: the state in $TF_DIR is empty."
  exit 0
fi
outputs=$(tf output -json)

value() {
  printf '%s' "$outputs" | python3 -c 'import json, sys
value = json.load(sys.stdin).get(sys.argv[1], {}).get("value")
print("\n".join(value) if isinstance(value, list) else json.dumps(value))' "$1"
}

if [ "$(value database_deletion_protection)" = "true" ]; then
  cat >&2 <<MSG
Refusing to destroy: the database has deletion protection on, so RDS would
refuse only after everything in front of it (URL, function, NAT, secrets) was
gone. Nothing was changed. If you really mean to tear the stack down, set
db_deletion_protection = false, run \`make deploy\`, then \`make destroy\` again.
MSG
  exit 1
fi

retained=$(value retained_on_destroy)
if [ -z "$retained" ]; then
  tf destroy "$@"
  exit 0
fi

# Managed resources of the state that are not retained, one per line.
not_retained() {
  tf state list | grep -v -e '^data\.' -e '\.data\.' | while read -r address; do
    keep=no
    for prefix in $retained; do
      case $address in "$prefix" | "$prefix"\[*) keep=yes ;; esac
    done
    [ "$keep" = yes ] || echo "$address"
  done
}

echo "Keeping the final snapshot $(value database_final_snapshot) and what it needs:"
printf '  %s\n' $retained
# Everything but the retained resources: -target on each address destroys it
# and whatever depends on it, never what it depends on (the key, the secret).
targets=$(not_retained | sed 's/^/-target=/')
# shellcheck disable=SC2086 # one word per target
tf destroy $targets "$@"

left=$(not_retained)
if [ -n "$left" ]; then
  echo "Still in the state after the destroy (nothing removed from it):" >&2
  echo "$left" >&2
  exit 1
fi
# Out of state, so a later deploy starts clean: the retained resources stay in
# the account, and the data sources a targeted destroy leaves behind go.
# shellcheck disable=SC2046 # one word per address
tf state rm $(tf state list) >/dev/null
cat <<MSG
Destroyed. Kept in the account (no longer managed by this state):
  KMS key $(value kms_key_arn) (decrypts the snapshot; schedule its deletion only with the snapshot's)
  application secret $(value app_secret_arn)
  final snapshot $(value database_final_snapshot)
See docs/deploy.md, "Tear down", to restore from them or delete them.
MSG
