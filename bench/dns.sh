#!/usr/bin/env bash
# DNS (issue 17, scenario 3): 100,000 URLs over 5,000 names, resolved by
# --dns-server through a local DNS server that answers after 5 ms (dnsd,
# TTL 300 s), against the same run with every name given by --resolve (no
# DNS at all); alternating, $RUNS each (default 3), at -c 64 to the local
# site. Prints median wall times, their ratio (the aim: at most 1.2) and
# the questions the DNS server was asked per run (the aim: one per name).
# Not part of CI. Usage: bash bench/dns.sh   (RUNS=5 for more)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
names=5000
build sluice . site ./internal/cmd/site dnsd ./internal/cmd/dnsd
serve base "$work/site"
port=${base##*:}
"$work/dnsd" -names "$names" -delay 5ms -ttl 300 > "$work/dns.addr" 2> "$work/dns.err" &
dnsd=$!
for _ in $(seq 100); do [ -s "$work/dns.addr" ] && break; sleep 0.05; done
dns=$(head -1 "$work/dns.addr")
awk -v n="$names" -v p="$port" 'BEGIN { for (i = 0; i < 100000; i++) print "http://h" (i % n) ".test:" p "/hello?i=" i }' > "$work/in"
resolve=()
for i in $(seq 0 $((names - 1))); do resolve+=(--resolve "h$i.test:$port:127.0.0.1"); done

# run KEY ARGS...: appends the wall seconds to $work/r.KEY.
run() {
	local key=$1
	shift
	/usr/bin/time -f '%e' -o "$work/time" "$work/sluice" -c 64 "$@" < "$work/in" > "$work/out"
	[ "$(wc -l < "$work/out")" = 100000 ] || { echo "$key: lost records" >&2; exit 1; }
	if grep -q '"error"' "$work/out"; then echo "$key: errors" >&2; grep -m 3 '"error"' "$work/out" >&2; exit 1; fi
	cat "$work/time" >> "$work/r.$key"
}
for _ in $(seq "$runs"); do
	run dns --dns-server "$dns"
	run resolve "${resolve[@]}"
done
kill "$dnsd"
wait "$dnsd" || true
questions=$(sed -n 's/^dnsd: \([0-9]*\) questions$/\1/p' "$work/dns.err")
d=$(median < "$work/r.dns")
r=$(median < "$work/r.resolve")
printf '| run | wall s (median) |\n|---|---|\n| --dns-server (5 ms answers) | %s |\n| --resolve (no DNS) | %s |\n\n' "$d" "$r"
awk -v d="$d" -v r="$r" -v q="$questions" -v runs="$runs" -v n="$names" \
	'BEGIN { printf "ratio %.3f (aim <= 1.2); %d questions over %d runs: %.0f per run for %d names\n", d / r, q, runs, q / runs, n }'
