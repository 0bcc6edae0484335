#!/usr/bin/env bash
# Enrich an access log from a JSON API: jq turns each log line into a request
# object (URL, method, headers, JSON body), sluice sends them and pulls
# values out of the JSON answers with --jq, and jq joins each answer to its
# log line. The Authorization header reaches the API but is "[redacted]" in
# sluice's output; a 429 with Retry-After is waited out and retried.
#
#   bash examples/enrich-api.sh
source "$(dirname "$0")/lib.sh"

cat > "$work/access.log" <<'LOG'
2026-11-30T09:00:01Z user=1 action=login
2026-11-30T09:00:02Z user=2 action=purchase amount=19.90
2026-11-30T09:00:04Z user=3 action=login
2026-11-30T09:00:05Z user=4 action=refund amount=5.00
LOG

# A purchase or a refund is POSTed to the API with a JSON body; a login is
# looked up with a GET. The lookup of user 3 goes to the rate-limited
# endpoint, which answers 429 and Retry-After: 1 first.
jq -Rc --arg base "$BASE" '
	capture("^(?<ts>\\S+) user=(?<user>[0-9]+) action=(?<action>\\S+)( amount=(?<amount>\\S+))?$") as $e |
	if $e.amount then
		{url: "\($base)/api/echo", method: "POST", json: {user: ($e.user | tonumber), action: $e.action, amount: ($e.amount | tonumber)}}
	elif $e.user == "3" then
		{url: "\($base)/api/limited?key=user3"}
	else
		{url: "\($base)/api/user?id=\($e.user)"}
	end + {headers: {Authorization: "Bearer demo-token"}, log: $e}
' "$work/access.log" |
	sluice --ordered --retry-base 100ms \
		--jq 'name=.name' --jq 'city=.address.city' --jq 'sent=.body | fromjson? // null' \
		--fields status,attempts,fields,error,input |
	jq -c '.input.log + {status, attempts, name: .fields.name, city: .fields.city, sent: .fields.sent, auth: .input.headers.Authorization}'
