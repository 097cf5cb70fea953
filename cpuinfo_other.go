//go:build !darwin

package bitnet

func cpuName() string { return procCPUName() }
