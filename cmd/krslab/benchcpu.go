package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/stat and /proc/PID/stat: 100 on every
// architecture Go builds for.
const clockTicks = 100

// stealWarn is the share of stolen CPU time from which bench assign says its ratios are a
// shared host's.
const stealWarn = 0.05

// cpuReading is what the machine's CPU counters (/proc/stat) and one process's
// (/proc/PID/stat) said at one moment; ok is false where they cannot be read (not Linux).
// Two readings around a load tell how much of the machine's CPU time the hypervisor gave
// to other guests meanwhile (steal: a virtual machine's noisy neighbours), and how much CPU
// the server spent. A ratio measured while stealWarn or more of the CPU was stolen says as
// much about the host as about krslab; the server's CPU per request does not depend on it.
type cpuReading struct {
	total, steal float64 // ticks, all CPUs
	process      float64 // ticks of the process, user and system
	ok           bool
}

func readCPU(pid int) cpuReading {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuReading{}
	}
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line)) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return cpuReading{}
	}
	var r cpuReading
	for i, v := range f[1:] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return cpuReading{}
		}
		if i < 8 { // guest time is counted in user time already
			r.total += n
		}
		if i == 7 {
			r.steal = n
		}
	}
	if pid > 0 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return cpuReading{}
		}
		// The fields after the command's name, which is in parentheses and may hold spaces:
		// state is the first, utime and stime the 12th and 13th.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			return cpuReading{}
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			return cpuReading{}
		}
		for _, v := range f[11:13] {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return cpuReading{}
			}
			r.process += n
		}
	}
	r.ok = true
	return r
}

// cpuUse is what happened between two readings: the share of the machine's CPU time
// stolen, and the process's CPU time in seconds (both -1 when unknown).
type cpuUse struct {
	steal, process float64
}

func (a cpuReading) until(b cpuReading) cpuUse {
	if !a.ok || !b.ok || b.total <= a.total {
		return cpuUse{steal: -1, process: -1}
	}
	return cpuUse{steal: (b.steal - a.steal) / (b.total - a.total), process: (b.process - a.process) / clockTicks}
}

// stealCell and perRequestCell format a load's columns of the assign table ("-" when unknown).
func stealCell(u cpuUse) string {
	if u.steal < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", 100*u.steal)
}

func perRequestCell(u cpuUse, requests float64) string {
	if u.process < 0 || requests <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", 1e6*u.process/requests)
}
