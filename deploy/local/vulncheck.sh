#!/usr/bin/env bash
# Scans the module with govulncheck against the Go vulnerability database, built
# locally from the golang.org/x/vulndb module (its data/osv entries) through the Go
# module proxy, so no other host is needed. `make vulncheck` runs this.
#
# Environment: CLICKTRAIL_VULNDB_VERSION (the golang.org/x/vulndb pseudo-version),
# CLICKTRAIL_GOVULNCHECK_VERSION, CLICKTRAIL_CACHE (.cache).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"

VULNDB=${CLICKTRAIL_VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
GOVULNCHECK=${CLICKTRAIL_GOVULNCHECK_VERSION:-v1.9.0}
DB=$CACHE/vulndb/$VULNDB
BIN=$CACHE/bin/govulncheck

need go "install Go 1.26 and run again"
go_install govulncheck golang.org/x/vuln/cmd/govulncheck "$GOVULNCHECK" "under a minute"
if [[ ! -f $DB/index/db.json ]]; then
	say "building the vulnerability database from golang.org/x/vulndb@$VULNDB into $DB (about a minute)"
	src=$(go mod download -json "golang.org/x/vulndb@$VULNDB" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || src=
	[[ -d $src ]] || die "go mod download golang.org/x/vulndb@$VULNDB failed: check that Go can reach its module proxy"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cp -r "$src/." "$work" && chmod -R u+w "$work"
	rm -rf "$DB.tmp"
	(cd "$work" && go run ./cmd/indexdb -vulns data/osv -out "$DB.tmp") ||
		die "building the vulnerability database failed (see above)"
	mv "$DB.tmp" "$DB"
fi
say "govulncheck $GOVULNCHECK, database golang.org/x/vulndb@$VULNDB, $(go version | cut -d' ' -f3)"
cd "$ROOT"
exec "$BIN" -db "file://$DB" ./...
