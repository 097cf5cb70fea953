package bitnet

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strings"
)

// machineCPU is the processor's model name as the OS reports it (the
// "model name" of /proc/cpuinfo on Linux, machdep.cpu.brand_string on
// macOS), or the architecture where it reports none: what bench results
// name their machine by.
func machineCPU() string {
	if s := cpuName(); s != "" {
		return s
	}
	return runtime.GOARCH
}

// cpuModelName returns the first "model name" (x86) or "Model" (some
// arm64 boards) field of a /proc/cpuinfo text.
func cpuModelName(info []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name", "Model":
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return ""
}

func procCPUName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	return cpuModelName(b)
}
