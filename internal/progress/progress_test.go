package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarShowsSizeSpeedAndRemainingTime(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(1000, 0)
	b := &Bar{w: &buf, name: "model.safetensors", total: 4_000_000, done: 1_000_000, resumed: 1_000_000, width: 100,
		now: func() time.Time { return clock }}
	b.began = clock
	clock = clock.Add(2 * time.Second)
	b.Add(1_000_000) // 1 MB in 2 s after a 1 MB resume: 0.5 MB/s, 2 MB left
	out := buf.String()
	for _, want := range []string{"model.safetensors", " 50%", "2.0 MB/4.0 MB", "500.0 kB/s", "4s left"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar %q lacks %q", out, want)
		}
	}
	b.Finish()
	if !strings.HasSuffix(buf.String(), "\n") {
		t.Error("Finish did not end the line")
	}
	n := buf.Len()
	b.Add(10)
	if buf.Len() != n {
		t.Error("a finished bar drew again")
	}
}

func TestBarThrottles(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "f", 1000, 0)
	for range 100 {
		b.Add(1)
	}
	if c := strings.Count(buf.String(), "\r"); c > 3 {
		t.Errorf("%d redraws for 100 quick updates", c)
	}
}

func TestUnknownTotal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "f", -1, 0)
	b.Add(1500)
	b.Finish()
	if !strings.Contains(buf.String(), "1.5 kB") {
		t.Errorf("got %q", buf.String())
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1_500_000: "1.5 MB", 2_400_000_000: "2.4 GB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestIsTerminalFalseForBuffers(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
}
