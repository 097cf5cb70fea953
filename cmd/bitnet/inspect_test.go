package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// inspect reports the built-in model's shape, and memory figures that
// follow from it: the KV bytes per token in the cache's type, and the
// total at full context.
func TestInspect(t *testing.T) {
	for _, kv := range []struct {
		name  string
		bytes int64
	}{{"f32", 4}, {"f16", 2}} {
		code, stdout, stderr := cli(t, "", "inspect", "--json", "--kv-type", kv.name)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var in inspectJSON
		if err := json.Unmarshal([]byte(stdout), &in); err != nil {
			t.Fatal(err)
		}
		if in.Layers <= 0 || in.KVHeads <= 0 || in.HeadDim <= 0 || in.Context <= 0 || in.WeightBytes <= 0 {
			t.Fatalf("%s: shape %+v", kv.name, in)
		}
		if want := 2 * int64(in.Layers*in.KVHeads*in.HeadDim) * kv.bytes; in.KVBytesPerToken != want || in.KVType != kv.name {
			t.Errorf("%s: kv %q, %d bytes per token, want %d", kv.name, in.KVType, in.KVBytesPerToken, want)
		}
		if want := in.WeightBytes + in.KVBytesPerToken*int64(in.Context); in.MemoryFullCtx != want {
			t.Errorf("%s: %d bytes at full context, want %d", kv.name, in.MemoryFullCtx, want)
		}
	}
	code, stdout, stderr := cli(t, "", "inspect", "--kv-type", "f16")
	if code != 0 || !strings.Contains(stdout, "KV cache") || !strings.Contains(stdout, "(f16)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
