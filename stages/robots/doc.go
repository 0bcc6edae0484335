// Package robots is --robots: robots.txt read as RFC 9309 says (the Robots
// Exclusion Protocol; Parse, Rules), and Robots, the per-host store the
// schedule asks before a host's first request and the fetch workers ask of
// each record.
//
// The parser replaces temoto/robotstxt, which refused a whole file over one
// line it could not parse (and sluice then allowed everything), did not
// anchor wildcard rules at the path's start, let the first written of two
// equally long rules win, and measured wildcard rules on their compiled
// regular expression. It is checked against every case of Google's
// reference tests (testdata/cases.jsonl).
package robots
