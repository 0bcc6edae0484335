// Package fetch is the fetch stage: Fetcher makes one attempt for a record
// (its request from the record and the flags, the body read through a cap
// and decoded, redirects, the error's kind, --trace), with --cache's lookup
// and store around the attempt and --warc's capture of its exchanges. It is
// safe for concurrent use; the schedule's FetchFlow runs it.
package fetch
