#!/usr/bin/env bash
# Main-content extraction on the WCXB development split (issue 42): the
# benchmark's word-bag F1 (lowercased \w+ tokens with multiplicity, per
# page, averaged overall and per page type) of sluice --extract $FIELD
# (default text; content once it exists) over the 1,497 pages served on
# loopback, beside go-trafilatura and go-readability run on the same pages
# in the same run (bench/wcxb, a module of its own so that sluice does not
# depend on them); also how often each gets the author and the date right,
# and the CPU seconds each spent (sluice: the whole process, fetching
# included; the libraries: extraction alone). Not part of CI; needs the Go
# module proxy once. Usage: bash bench/wcxb.sh   (FIELD=content N=200
# DATA=path/to/wcxb-dev)
source "$(dirname "$0")/lib.sh"
data=${DATA:-$root/../shared/testdata/wcxb-dev}
build sluice .
(cd bench/wcxb && go build -o "$work/wcxb" .)
"$work/wcxb" -data "$data" -sluice "$work/sluice" -extract "${FIELD:-text}" -n "${N:-0}"
