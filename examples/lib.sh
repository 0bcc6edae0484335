# Sourced by the examples: builds sluice and the local test site (unless
# $SLUICE and $SITE name ready binaries), starts the site on a free loopback
# port and sets $BASE to its URL; start_site starts more (each its own host
# for sluice's per-host limits). The sites stop when the example exits.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
site_pids=()
cleanup() {
	for pid in "${site_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
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

# start_server VAR BIN [ARG...] starts a local server that prints its
# address as its first line (the site, natsd) and sets VAR to it; it stops
# when the example exits. (Not VAR=$(start_server ...): in a subshell the
# server's pid would not reach site_pids, and it would outlive the example.)
start_server() {
	local var=$1 addr
	shift
	addr=$(mktemp "$work/addr.XXXXXX")
	"$@" > "$addr" &
	site_pids+=($!)
	for _ in $(seq 200); do [ -s "$addr" ] && break; sleep 0.05; done
	[ -s "$addr" ] || { echo "$1 did not start" >&2; exit 1; }
	printf -v "$var" '%s' "$(head -n 1 "$addr")"
}

# start_site VAR starts another site and sets VAR to its base URL.
start_site() { start_server "$1" "$SITE"; }
start_site BASE
sluice() { "$SLUICE" "$@"; }
