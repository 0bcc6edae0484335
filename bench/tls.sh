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
# Then the hosts that come back (issue 27): the first $REPEAT_HOSTS hosts
# (default 1,000), each twice and each five times, interleaved (host k gets
# URLs k, k+N, k+2N, ...: the shape of a shuffled crawl or log), sluice
# against the plain pool, whose HTTP/2 pool keeps every host's connection.
# Usage: bash bench/tls.sh   (RUNS=5, HOSTS=2000, REPEAT_HOSTS=500 to change)
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
tools=${TOOLS:-sluice plain aiohttp curl} # TOOLS="sluice plain" where Python's aiohttp is not installed
has() { [[ " $tools " == *" $1 "* ]]; }
for _ in $(seq "$runs"); do
	run sluice in "$work/sluice" -c 64
	run plain in "$work/plainpool" -c 64
	if has aiohttp; then run aiohttp in /usr/bin/python3 bench/aiohttp_client.py 64; fi
	if has curl; then run curl in-2k xargs -P 64 -n 1 curl -s -o /dev/null -w "$curl_fmt"; fi
done
printf '| tool | requests | wall s (median) | handshakes/s | CPU us per request | peak RSS MiB | x plain pool |\n|---|---|---|---|---|---|---|\n'
plain_rps=$(awk -v n="$hosts" '{ print n / $1 }' "$work/r.plain" | median)
for tool in sluice plain aiohttp curl; do
	has "$tool" || continue
	n=$hosts; [ "$tool" = curl ] && n=2000
	wall=$(awk '{ print $1 }' "$work/r.$tool" | median)
	rss=$(awk '{ print $2 }' "$work/r.$tool" | median)
	cpu=$(awk '{ print $3 }' "$work/r.$tool" | median)
	awk -v t="$tool" -v n="$n" -v w="$wall" -v r="$rss" -v c="$cpu" -v p="$plain_rps" \
		'BEGIN { printf "| %s | %d | %.2f | %.0f | %.0f | %.0f | %.2f |\n", t, n, w, n / w, c * 1e6 / n, r / 1024, (n / w) / p }'
done

# The repeat scenarios: a second table, its rows "| xK | tool | ...".
rhosts=${REPEAT_HOSTS:-1000}
for k in 2 5; do
	head -n "$rhosts" "$work/in" > "$work/r1"
	: > "$work/in-x$k"
	for _ in $(seq "$k"); do cat "$work/r1" >> "$work/in-x$k"; done
done
for _ in $(seq "$runs"); do
	for k in 2 5; do
		run "x$k-sluice" "in-x$k" "$work/sluice" -c 64
		run "x$k-plain" "in-x$k" "$work/plainpool" -c 64
	done
done
echo
printf '| repeats | tool | requests | wall s (median) | CPU us per request | peak RSS MiB | x plain pool |\n|---|---|---|---|---|---|---|\n'
for k in 2 5; do
	n=$((rhosts * k))
	plain_wall=$(awk '{ print $1 }' "$work/r.x$k-plain" | median)
	for tool in sluice plain; do
		wall=$(awk '{ print $1 }' "$work/r.x$k-$tool" | median)
		rss=$(awk '{ print $2 }' "$work/r.x$k-$tool" | median)
		cpu=$(awk '{ print $3 }' "$work/r.x$k-$tool" | median)
		awk -v k="$k" -v t="$tool" -v n="$n" -v w="$wall" -v r="$rss" -v c="$cpu" -v p="$plain_wall" \
			'BEGIN { printf "| x%d, %d hosts interleaved | %s | %d | %.2f | %.0f | %.0f | %.2f |\n", k, n / k, t, n, w, c * 1e6 / n, r / 1024, p / w }'
	done
done
