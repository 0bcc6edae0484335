// Package warc is --warc's capture: every exchange of an attempt, taken
// from the wire around the client's RoundTripper, encoded as WARC/1.1
// request, response and revisit records (per-record gzip, SHA-1 digests,
// SURT keys) for the WARC writer to write.
package warc
