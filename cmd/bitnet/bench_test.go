package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-go/bitnet"
)

func TestBenchJSON(t *testing.T) {
	code, stdout, stderr := cli(t, "", "bench", "-p", "8", "-n", "4", "-r", "2", "-t", "1,2", "--bandwidth-bytes", "8388608", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one object per thread count, got %q", stdout)
	}
	for i, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if cpu, _ := r["cpu"].(string); cpu == "" || r["n_cpus"].(float64) != float64(runtime.NumCPU()) {
			t.Errorf("line %d: cpu %v, n_cpus %v", i, r["cpu"], r["n_cpus"])
		}
		for _, k := range []string{"pp_tok_s", "tg_tok_s", "bytes_per_token", "bandwidth_gb_s", "bandwidth_fraction"} {
			v, ok := r[k].(float64)
			if !ok || !(v > 0) {
				t.Errorf("line %d: %s = %v, want a positive number", i, k, r[k])
			}
		}
		if r["threads"].(float64) != float64(i+1) {
			t.Errorf("line %d: threads %v", i, r["threads"])
		}
	}
}

// -d measures each depth on one loaded model: one row per depth, and the
// decode bytes grow by exactly the KV cache of the context, in the cache's
// type.
func TestBenchDepth(t *testing.T) {
	for _, kv := range []struct {
		name  string
		bytes int
	}{{"f32", 4}, {"f16", 2}} {
		t.Run(kv.name, func(t *testing.T) { testBenchDepth(t, kv.name, kv.bytes) })
	}
}

func testBenchDepth(t *testing.T, kvType string, kvBytes int) {
	rows := benchRows(t, "-p", "4", "-n", "4", "-r", "1", "-t", "1", "-d", "0,400", "--kv-type", kvType)
	if len(rows) != 2 || rows[0].Depth != 0 || rows[1].Depth != 400 {
		t.Fatalf("rows %+v", rows)
	}
	// bitnet-tiny: 2 layers, 2 KV heads of 64, K and V.
	if d := rows[1].BytesPerToken - rows[0].BytesPerToken; d != int64(400*2*2*2*64*kvBytes) {
		t.Errorf("depth 400 adds %d bytes per token", d)
	}
	if rows[0].KVType != kvType {
		t.Errorf("kv_type %q, want %q", rows[0].KVType, kvType)
	}
	if !(rows[1].TGTokS > 0) || !(rows[1].PPTokS > 0) {
		t.Errorf("depth 400: %+v", rows[1])
	}
}

// -p and -n take lists like -t and -d: one row per combination, each with
// its own lengths, and a table that names them in columns of their own.
func TestBenchLists(t *testing.T) {
	args := []string{"bench", "-p", "4,8", "-n", "0,2", "-r", "1", "-t", "1", "--bandwidth-bytes", "8388608"}
	var got [][2]int
	for _, r := range benchRows(t, args[1:]...) {
		got = append(got, [2]int{r.PromptTokens, r.GenTokens})
		if !(r.PPTokS > 0) || (r.GenTokens > 0) != (r.TGTokS > 0) {
			t.Errorf("p=%d n=%d: pp %v tg %v", r.PromptTokens, r.GenTokens, r.PPTokS, r.TGTokS)
		}
	}
	if want := [][2]int{{4, 0}, {4, 2}, {8, 0}, {8, 2}}; !slices.Equal(got, want) {
		t.Errorf("rows (p, n) %v, want %v", got, want)
	}
	code, stdout, stderr := cli(t, "", append(args, "--md")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "cpu: ") || !strings.HasSuffix(lines[0], fmt.Sprintf(", %d logical CPUs", runtime.NumCPU())) ||
		!strings.Contains(lines[2], "| depth | p | n | pp tok/s | tg tok/s |") || !strings.Contains(lines[7], "| 8 | 2 |") ||
		!strings.Contains(lines[6], "| 8 | 0 | ") || !strings.Contains(lines[6], " | - | ") || !strings.HasSuffix(lines[6], " | - |") || strings.Contains(lines[7], " - ") {
		t.Errorf("table:\n%s", stdout)
	}
}

// A list with 0 skips that test in the other lengths' rows, and the
// combination that would measure nothing is left out.
func TestBenchSkippedTests(t *testing.T) {
	code, stdout, stderr := cli(t, "", "bench", "-p", "0,4", "-n", "0,2", "-r", "1", "-t", "1", "--bandwidth-bytes", "8388608", "--csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var got []string
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		got = append(got, f[13]+"/"+f[14])
	}
	if want := []string{"0/2", "4/0", "4/2"}; !slices.Equal(got, want) {
		t.Errorf("rows p/n %v, want %v", got, want)
	}
}

// --parallel runs several sequences together: one row per count, rates
// over all their tokens, and the weights' bytes shared among them while
// each reads its own KV cache.
func TestBenchParallel(t *testing.T) {
	rows := benchRows(t, "-p", "4", "-n", "4", "-r", "1", "-t", "2", "-d", "8", "--parallel", "1,3")
	for _, r := range rows {
		if !(r.PPTokS > 0) || !(r.TGTokS > 0) || !(r.BandwidthFrac > 0) {
			t.Errorf("parallel %d: %+v", r.Parallel, r)
		}
	}
	if len(rows) != 2 || rows[0].Parallel != 1 || rows[1].Parallel != 3 {
		t.Fatalf("rows %+v", rows)
	}
	// bitnet-tiny: 2 layers, 2 KV heads of 64, K and V, float32, over the
	// depth and half the generated tokens.
	kv := int64(2*2*2*64*4) * (8 + 4/2)
	if step := rows[0].BytesPerToken - kv + 3*kv; rows[1].BytesPerToken != step/3 {
		t.Errorf("3 sequences: %d bytes per token, want %d", rows[1].BytesPerToken, step/3)
	}
	code, stdout, stderr := cli(t, "", "bench", "-p", "4", "-n", "4", "-r", "1", "--parallel", "2", "--bandwidth-bytes", "8388608", "--md")
	if code != 0 || !strings.Contains(stdout, "| depth | parallel | pp4 tok/s |") || !strings.Contains(stdout, "| 0 | 2 | ") {
		t.Errorf("exit %d, table:\n%s%s", code, stdout, stderr)
	}
}

func TestBenchBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-r", "0"},
		{"bench", "-t", "x"},
		{"bench", "--synthetic", "gpt-5"},
		{"bench", "--isa", "mmx"},
		{"bench", "--synthetic", "bitnet-b1.58-2B-4T", "--embd-type", "q4_0"},
		{"bench", "-d", "-1"},
		{"bench", "-p", "4,x"},
		{"bench", "-n", "-1"},
		{"bench", "-p", ""},
		{"bench", "--kv-type", "q8_0"},
		{"bench", "-d", "100000", "-p", "4", "-n", "4", "-r", "1"},
		{"bench", "--parallel", "0"},
		{"bench", "--parallel", "2,x"},
	} {
		if code, _, stderr := cli(t, "", args...); code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestSyntheticShapes builds the smallest synthetic shape, whose FFN width
// (4096) and the 3B's 8640 exercise the padded tail path, and runs a step.
func TestSyntheticShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a 0.7B-parameter model")
	}
	eng, err := bitnet.NewEngine(bitnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	m, err := eng.LoadSynthetic("bitnet_b1_58-large", "q8_0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Bench(t.Context(), bitnet.BenchOptions{Prompt: 2, Gen: 1, Reps: 1, BandwidthBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if r.EmbeddingType != "q8_0" || r.BytesPerToken < 150e6 {
		t.Errorf("%+v", r)
	}
}

// benchRows runs bench with args, a small bandwidth test and --json, and
// returns its rows.
func benchRows(t *testing.T, args ...string) []bitnet.BenchResult {
	t.Helper()
	code, stdout, stderr := cli(t, "", append([]string{"bench", "--bandwidth-bytes", "8388608", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []bitnet.BenchResult
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r bitnet.BenchResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}
