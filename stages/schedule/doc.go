// Package schedule is politeness without head-of-line blocking: Schedule
// holds a bounded window of records keyed by host and releases one when the
// global bucket, the host's bucket and the host's slot allow it (Limits);
// pauses for Retry-After and rate-limit quotas, --auto-throttle, robots.txt
// first and its Crawl-delay, permits for a rendered page's requests.
// FetchFlow is the fetch workers: they make the attempts and give a record
// back to the schedule (Returner) to go again after its backoff
// (RetryPolicy), so a retry holds no worker. Observer is told of it all.
package schedule
