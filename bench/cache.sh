#!/usr/bin/env bash
# The HTTP cache (issue 20), against the local site on loopback:
#   1. the daily re-run: $N pages (default 10,000) of 50 KiB with ETags,
#      fetched twice with --cache: the bytes the site sent (its wchar in
#      /proc/PID/io, every write it made) and the wall time of the second
#      run against the first; beside them a run without --cache;
#   2. what look-ups cost where nothing can be kept: the same pages served
#      no-store, with --cache (each record a look-up in an empty cache)
#      and without: CPU seconds (user + sys);
#   3. as 1., from a second site that sends bodies at $PACE bytes/s per
#      response (default 250,000: a 50 KiB page takes 0.2 s), as a slow link
#      would: on loopback a body costs almost nothing to move, so 1. shows
#      what is saved in CPU, 3. what is saved in time where bodies take
#      time to arrive.
# Medians of $RUNS (default 3), each run with a new cache directory.
# Not part of CI. Usage: bash bench/cache.sh   (RUNS=1 N=2000 PACE=2000000)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
n=${N:-10000}
build sluice . site ./internal/cmd/site
"$work/site" > "$work/addr" &
site_pid=$!
server_pids+=("$site_pid")
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.05; done
base=$(head -n 1 "$work/addr")
serve paced "$work/site" -pace "${PACE:-250000}"
paced_pid=${server_pids[-1]}
for i in $(seq "$n"); do echo "$base/cache/etag/$i?kb=50"; done > "$work/etag"
for i in $(seq "$n"); do echo "$paced/cache/etag/$i?kb=50"; done > "$work/paced"
for i in $(seq "$n"); do echo "$base/cache/no-store/$i?kb=50"; done > "$work/nostore"
# sent INPUT: the bytes the site of INPUT has written so far.
sent() {
	local pid=$site_pid
	[ "$1" = paced ] && pid=$paced_pid
	awk '/^wchar/ { print $2 }' "/proc/$pid/io"
}

# run NAME INPUT ARGS...: one sluice run; appends "NAME wall cpu bytes-sent" to $work/times.
run() {
	local name=$1 input=$2 before
	shift 2
	before=$(sent "$input")
	/usr/bin/time -f '%e %U %S' -o "$work/time" "$work/sluice" -c 64 "$@" < "$work/$input" > "$work/out"
	[ "$(wc -l < "$work/out")" = "$n" ] || { echo "$name: $(wc -l < "$work/out") records for $n" >&2; exit 1; }
	read -r wall user sys < "$work/time"
	echo "$name $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $(($(sent "$input") - before))" >> "$work/times"
}
: > "$work/times"
for r in $(seq "$runs"); do
	rm -rf "$work/cache"
	run plain etag
	run first etag --cache "$work/cache"
	run second etag --cache "$work/cache"
	jq -r .cache "$work/out" | sort | uniq -c | tr '\n' ' ' >&2
	echo "(run $r)" >&2
	rm -rf "$work/cache"
	run nostore-plain nostore
	run nostore-cache nostore --cache "$work/cache"
	rm -rf "$work/cache"
	run paced-first paced --cache "$work/cache"
	run paced-second paced --cache "$work/cache"
done
col() { awk -v k="$1" -v c="$2" '$1 == k { print $c }' "$work/times" | median; }

echo "## 1. $n pages of 50 KiB, fetched twice with --cache (medians of $runs)"
echo "| run | wall s | CPU s | bytes the site sent |"
echo "|---|---|---|---|"
for k in plain first second; do
	printf '| %s | %s | %s | %s |\n' "$k" "$(col "$k" 2)" "$(col "$k" 3)" "$(col "$k" 4)"
done
ratios() {
	awk -v f="$(col "$1" 2)" -v s="$(col "$2" 2)" -v fc="$(col "$1" 3)" -v sc="$(col "$2" 3)" -v fb="$(col "$1" 4)" -v sb="$(col "$2" 4)" 'BEGIN {
	printf "\nsecond run: %.2f%% of the first run'"'"'s bytes (aim: at most 2%%), %.1fx faster (aim: at least 3x), %.2fx its CPU\n", 100 * sb / fb, f / s, sc / fc }'
}
ratios first second
echo
echo "## 2. look-ups where nothing is kept: $n no-store pages (medians of $runs)"
echo "| run | wall s | CPU s |"
echo "|---|---|---|"
for k in nostore-plain nostore-cache; do
	printf '| %s | %s | %s |\n' "$k" "$(col "$k" 2)" "$(col "$k" 3)"
done
awk -v a="$(col nostore-plain 3)" -v b="$(col nostore-cache 3)" 'BEGIN {
	printf "\n--cache costs %.1f%% more CPU where nothing is kept (aim: within 10%%)\n", 100 * (b - a) / a }'
echo
echo "## 3. as 1., bodies sent at ${PACE:-250000} bytes/s per response (medians of $runs)"
echo "| run | wall s | CPU s | bytes the site sent |"
echo "|---|---|---|---|"
for k in paced-first paced-second; do
	printf '| %s | %s | %s | %s |\n' "${k#paced-}" "$(col "$k" 2)" "$(col "$k" 3)" "$(col "$k" 4)"
done
ratios paced-first paced-second
