# Sourced by the examples: builds sluice and the local test site (unless
# $SLUICE and $SITE name ready binaries), starts the site on a free loopback
# port and sets $BASE to its URL. The site stops when the example exits.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
site_pid=
cleanup() {
	if [ -n "$site_pid" ]; then kill "$site_pid" 2>/dev/null || true; wait "$site_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${SLUICE:-}" ]; then
	(cd "$root" && go build -o "$work/sluice" .)
	SLUICE=$work/sluice
fi
if [ -z "${SITE:-}" ]; then
	(cd "$root" && go build -o "$work/site" ./internal/cmd/site)
	SITE=$work/site
fi
"$SITE" > "$work/addr" &
site_pid=$!
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.05; done
BASE=$(head -n 1 "$work/addr")
[ -n "$BASE" ] || { echo "the test site did not start" >&2; exit 1; }
sluice() { "$SLUICE" "$@"; }
