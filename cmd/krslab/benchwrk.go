package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkScript drives wrk against POST /assignments. Each thread numbers its customers
// w<thread>-<n> (n in twelve digits, so that every body has one length), or, given a file
// of stored customers (KRSLAB_WRK_IDS), cycles through them, each thread from its own
// place. A request is a few bytes joined to text made once: the load generator shares the
// machine with the server and the database, so its cost per request must stay as small
// as pgbench's (wrk.format per request took about a tenth of the server's throughput).
const wrkScript = `
local path, key = os.getenv("KRSLAB_WRK_PATH"), os.getenv("KRSLAB_WRK_KEY")
local idfile = os.getenv("KRSLAB_WRK_IDS") or ""
local nextid = 0
function setup(thread)
  thread:set("tid", nextid)
  nextid = nextid + 1
end
local function head(length)
  return "POST " .. path .. " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
    "\r\nAuthorization: Bearer " .. key .. "\r\nContent-Type: application/json\r\nContent-Length: " ..
    length .. "\r\n\r\n"
end
function init(args)
  count = 0
  repeats = {}
  if idfile ~= "" then
    for id in io.lines(idfile) do
      local body = '{"customer_id":"' .. id .. '"}'
      repeats[#repeats + 1] = head(#body) .. body
    end
  end
  n = #repeats
  local open = '{"customer_id":"w' .. tid .. "-"
  prefix = head(#open + 12 + 2) .. open
end
function request()
  count = count + 1
  if n > 0 then return repeats[(count * 7919 + tid * 104729) % n + 1] end
  return prefix .. string.format("%012d", count) .. '"}'
end
`

// wrkDone prints one machine-readable line at the end of a wrk run.
const wrkDone = `
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("krslab-wrk requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
`

// wrkHealthz asks for GET /healthz, the same request every time (wrk sends it without
// calling the script).
const wrkHealthz = `
wrk.path = "/healthz"
`

var wrkLine = regexp.MustCompile(`krslab-wrk requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) status_errors=(\d+) socket_errors=(\d+)`)

// wrkLoad runs wrk with clients connections on two threads (as pgbench's -j 2) for d
// against path: new customers, or the stored ones in repeat when it is not nil. wrk is a
// C load generator, as pgbench is: on a small machine a load generator in Go takes a share
// of the CPU that the server and PostgreSQL need.
func wrkLoad(ctx context.Context, bin, baseURL, path, secret string, repeat []string, clients int, d time.Duration) (loadStats, error) {
	ids := ""
	if repeat != nil {
		var err error
		if ids, err = tempFile("krslab-wrk-ids-*", strings.Join(repeat, "\n")+"\n"); err != nil {
			return loadStats{}, err
		}
		defer os.Remove(ids)
	}
	return runWrk(ctx, bin, baseURL, wrkScript, clients, d, "KRSLAB_WRK_PATH="+path, "KRSLAB_WRK_KEY="+secret, "KRSLAB_WRK_IDS="+ids)
}

// runWrk runs wrk with script (and wrkDone) and reads its summary line.
func runWrk(ctx context.Context, bin, baseURL, script string, clients int, d time.Duration, env ...string) (loadStats, error) {
	file, err := tempFile("krslab-wrk-*.lua", script+wrkDone)
	if err != nil {
		return loadStats{}, err
	}
	defer os.Remove(file)
	cmd := exec.CommandContext(ctx, bin, "-t", "2", "-c", strconv.Itoa(clients),
		"-d", fmt.Sprintf("%ds", max(1, int(d.Seconds()))), "-s", file, baseURL)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadStats{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	m := wrkLine.FindSubmatch(out)
	if m == nil {
		return loadStats{}, fmt.Errorf("wrk output without its summary line:\n%s", out)
	}
	n := make([]float64, len(m)-1)
	for i := range n {
		n[i], _ = strconv.ParseFloat(string(m[i+1]), 64)
	}
	errs := int(n[4] + n[5])
	return loadStats{tps: (n[0] - float64(errs)) / (n[1] / 1e6), p50: n[2] / 1000, p99: n[3] / 1000, errors: errs}, nil
}
