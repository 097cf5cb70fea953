package bitnet

import "testing"

func TestCPUModelName(t *testing.T) {
	for _, tc := range []struct{ info, want string }{
		{"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n", "AMD EPYC 7B13 64-Core Processor"},
		{"processor\t: 0\nBogoMIPS\t: 48.00\nCPU implementer\t: 0x41\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4"},
		{"processor\t: 0\nmodel name\t:\n", ""},
		{"", ""},
	} {
		if got := cpuModelName([]byte(tc.info)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.info, got, tc.want)
		}
	}
	if machineCPU() == "" {
		t.Error("machineCPU is empty")
	}
}
