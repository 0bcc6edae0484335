// Package sources holds where records come from: Lines reads newline-delimited
// URL or NDJSON input from files or stdin.
package sources
