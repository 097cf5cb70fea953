package bitnet

import "golang.org/x/sys/unix"

func cpuName() string {
	s, err := unix.Sysctl("machdep.cpu.brand_string")
	if err != nil {
		return ""
	}
	return s
}
