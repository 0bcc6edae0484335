// Package robotstxt reads robots.txt files as RFC 9309 says (the Robots
// Exclusion Protocol) and answers whether a path may be fetched by a
// product token. It replaces temoto/robotstxt, which refused a whole file
// over one line it could not parse (and sluice then allowed everything),
// did not anchor wildcard rules at the path's start, let the first written
// of two equally long rules win, and measured wildcard rules on their
// compiled regular expression. Checked against every case of Google's
// reference tests in ../shared/testdata/robotstxt (stages' robots tests).
package robotstxt
