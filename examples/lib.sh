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

# start_site VAR starts another site and sets VAR to its base URL. (Not
# VAR=$(start_site): in a subshell the site's pid would not reach site_pids,
# and the site would outlive the example.)
start_site() {
	local addr
	addr=$(mktemp "$work/addr.XXXXXX")
	"$SITE" > "$addr" &
	site_pids+=($!)
	for _ in $(seq 100); do [ -s "$addr" ] && break; sleep 0.05; done
	[ -s "$addr" ] || { echo "the test site did not start" >&2; exit 1; }
	printf -v "$1" '%s' "$(head -n 1 "$addr")"
}
start_site BASE
sluice() { "$SLUICE" "$@"; }
