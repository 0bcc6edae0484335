#!/usr/bin/env bash
# TLS over many hosts (issue 17, scenario 1): $HOSTS distinct hosts (default
# 5,000; the local site on as many loopback ports, HTTPS and HTTP/2 with a
# certificate made at start), one request each, so every request is a new
# connection and a full TLS handshake. sluice, the plain Go pool and Python
# asyncio+aiohttp at concurrency 64, and `xargs -P 64 curl` on the first
# 2,000; alternating, $RUNS each (default 3), medians. Every tool verifies
# the certificate as it does by default, trusting it through SSL_CERT_FILE
# (Go's and OpenSSL's default roots honour it) or CURL_CA_BUNDLE (curl).
# httpx is not here: the Go module proxy this project builds from refuses
# github.com/projectdiscovery/httpx.
# The site holds a listener per host, and a client that keeps its idle
# connections (the plain pool does: net/http's HTTP/2 pool keeps one per
# host) one more open file per host on each side: 10,000 hosts need more
# than the 20,000 open files this machine allows (ulimit -Hn, not raisable
# without CAP_SYS_RESOURCE). Not part of CI.
# Usage: bash bench/tls.sh   (RUNS=5, HOSTS=2000 to change)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
hosts=${HOSTS:-5000}
build sluice . site ./internal/cmd/site plainpool ./bench/plainpool
"$work/site" -ports "$hosts" -tls "$work/ca.pem" > "$work/ports" &
server_pids+=($!)
for _ in $(seq 400); do [ "$(wc -l < "$work/ports")" = "$hosts" ] && break; sleep 0.05; done
[ "$(wc -l < "$work/ports")" = "$hosts" ] || { echo "the site did not start $hosts ports" >&2; exit 1; }
sed 's|$|/hello|' "$work/ports" > "$work/in"
head -2000 "$work/in" > "$work/in-2k"
export SSL_CERT_FILE=$work/ca.pem CURL_CA_BUNDLE=$work/ca.pem
curl_fmt='{"url":"%{url_effective}","status":%{http_code}}\n'

# run KEY INPUT CMD...: appends "wall peakRSS_KiB cpu_s" to $work/r.KEY.
run() {
	local key=$1 input=$2
	shift 2
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" < "$work/$input" > "$work/out" 2> "$work/err"
	[ "$(wc -l < "$work/out")" = "$(wc -l < "$work/$input")" ] || { echo "$key: lost records" >&2; tail -3 "$work/err" >&2; exit 1; }
	if grep -q '"error"\|"status":0\|"status":000' "$work/out"; then echo "$key: errors" >&2; grep -m 3 '"error"\|"status":0' "$work/out" >&2; exit 1; fi
	awk '{ print $1, $2, $3 + $4 }' "$work/time" >> "$work/r.$key"
}
for _ in $(seq "$runs"); do
	run sluice in "$work/sluice" -c 64
	run plain in "$work/plainpool" -c 64
	run aiohttp in /usr/bin/python3 bench/aiohttp_client.py 64
	run curl in-2k xargs -P 64 -n 1 curl -s -o /dev/null -w "$curl_fmt"
done
printf '| tool | requests | wall s (median) | handshakes/s | CPU us per request | peak RSS MiB | x plain pool |\n|---|---|---|---|---|---|---|\n'
plain_rps=$(awk -v n="$hosts" '{ print n / $1 }' "$work/r.plain" | median)
for tool in sluice plain aiohttp curl; do
	n=$hosts; [ "$tool" = curl ] && n=2000
	wall=$(awk '{ print $1 }' "$work/r.$tool" | median)
	rss=$(awk '{ print $2 }' "$work/r.$tool" | median)
	cpu=$(awk '{ print $3 }' "$work/r.$tool" | median)
	awk -v t="$tool" -v n="$n" -v w="$wall" -v r="$rss" -v c="$cpu" -v p="$plain_rps" \
		'BEGIN { printf "| %s | %d | %.2f | %.0f | %.0f | %.0f | %.2f |\n", t, n, w, n / w, c * 1e6 / n, r / 1024, (n / w) / p }'
done
