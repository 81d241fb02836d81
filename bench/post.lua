-- wrk script: every request is a POST of the body in the file named by $BENCH_BODY_FILE.
-- Headers come from wrk's -H options.
wrk.method = "POST"
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()

-- wrk prints latencies with two decimals of the unit it picks (10 ms steps once past a second):
-- add exact percentiles, in microseconds, after its report.
function done(summary, latency, requests)
  io.write(string.format("bench-latency-us p50=%d p75=%d p90=%d p99=%d p99.9=%d max=%d\n",
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
