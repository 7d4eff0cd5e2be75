-- wrk script for make bench: method, body and headers from the
-- environment; prints one machine-readable line at the end.
wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body and body ~= "" then
	wrk.body = body
	wrk.headers["Content-Type"] = os.getenv("WRK_CTYPE") or "application/json"
end
local token = os.getenv("WRK_TOKEN")
if token and token ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
	local secs = summary.duration / 1e6
	local non2xx = summary.errors.status
	local sockerr = summary.errors.connect + summary.errors.read +
	    summary.errors.write + summary.errors.timeout
	io.write(string.format(
	    "RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d sockerr=%d\n",
	    summary.requests / secs, latency:percentile(50) / 1000,
	    latency:percentile(99) / 1000, summary.requests, non2xx, sockerr))
end
