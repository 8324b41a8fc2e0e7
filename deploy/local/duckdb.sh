#!/usr/bin/env bash
# Prints the path of a Python that has DuckDB (pinned), making .cache/venv with pip on
# first use. The archiver's tests read the Parquet files with it, as an analyst would.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
VERSION=1.4.2
VENV=$CACHE/venv
PY=$VENV/bin/python
if ! "$PY" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$VERSION')" 2>/dev/null; then
	command -v python3 >/dev/null || die "python3 is not installed: install Python 3 and run again"
	say "installing DuckDB $VERSION into $VENV (first run only)..."
	python3 -m venv "$VENV" || die "python3 -m venv failed: install the python3-venv package and run again"
	"$VENV/bin/pip" install -q "duckdb==$VERSION" >&2 || die "pip install duckdb==$VERSION failed: check that the Python package index is reachable"
fi
echo "$PY"
