# Sourced by the bench scripts: a work directory and the servers they start,
# both gone when the script exits; building; starting a test server; medians.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
server_pids=()
trap 'for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
cd "$root"

# build NAME PKG...: go build each PKG to $work/NAME, in pairs.
build() {
	while [ $# -ge 2 ]; do
		go build -o "$work/$1" "$2"
		shift 2
	done
}

# serve VAR BIN [ARG...]: starts a test server binary (site, hostile) on a free
# loopback port and sets VAR to its base URL.
serve() {
	local addr
	addr=$(mktemp "$work/addr.XXXXXX")
	"${@:2}" > "$addr" &
	server_pids+=($!)
	for _ in $(seq 100); do [ -s "$addr" ] && break; sleep 0.05; done
	[ -s "$addr" ] || { echo "$2 did not start" >&2; exit 1; }
	printf -v "$1" '%s' "$(head -n 1 "$addr")"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
spread() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }
