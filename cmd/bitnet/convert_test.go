package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-go/bitnet/internal/gguf"
)

const convertTestHF = "../../testdata/golden/golden-tiny-hf"

func convertRun(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = execute(context.Background(), append([]string{"convert"}, args...), strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func TestConvertCLI(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args         []string
		file         string
		arch         string
		ftype        uint32
		bitlinear    gguf.Type
		embd         gguf.Type
		outputPosOrO bool
	}{
		{[]string{"--type", "i2_s"}, "a.gguf", "bitnet-b1.58", 40, gguf.I2_S, gguf.F16, true},
		{[]string{"--type", "TQ2_0"}, "b.gguf", "bitnet", 37, gguf.TQ2_0, gguf.Q6_K, false},
		{[]string{"--type", "tq1_0", "--embd-type", "q8_0"}, "c.gguf", "bitnet", 36, gguf.TQ1_0, gguf.Q8_0, true},
		{[]string{"--type", "f16", "--embd-type", "f32", "-q"}, "d.gguf", "bitnet", 1, gguf.F16, gguf.F32, true},
	} {
		out := filepath.Join(dir, tc.file)
		args := append([]string{convertTestHF}, tc.args...)
		if tc.outputPosOrO {
			args = append(args, out)
		} else {
			args = append(args, "-o", out)
		}
		code, stdout, stderr := convertRun(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		if stdout != "" {
			t.Errorf("%v: stdout %q, want nothing (messages go to stderr)", tc.args, stdout)
		}
		if quiet := slices.Contains(tc.args, "-q"); quiet != (stderr == "") {
			t.Errorf("%v: stderr %q", tc.args, stderr)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		ft, _ := f.Uint(gguf.KeyFileType)
		q, _ := f.Tensor("blk.1.ffn_down.weight")
		e, _ := f.Tensor("token_embd.weight")
		if f.Arch() != tc.arch || ft != uint64(tc.ftype) || q.Type != tc.bitlinear || e.Type != tc.embd {
			t.Errorf("%v: arch %s, file_type %d, ffn_down %v, token_embd %v", tc.args, f.Arch(), ft, q.Type, e.Type)
		}
		f.Close()
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("output folder holds %v, want only the 4 files", entries)
	}
}

func TestConvertCLIErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.gguf")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "needs the checkpoint folder"},
		{[]string{convertTestHF}, 2, "name the output file"},
		{[]string{convertTestHF, out, "extra"}, 2, "got 3 arguments"},
		{[]string{convertTestHF, out, "-o", out}, 2, "not both"},
		{[]string{convertTestHF, out, "--type", "q4_0"}, 2, "unknown type"},
		{[]string{convertTestHF, out, "--embd-type", "q4_k"}, 2, "unknown embedding type"},
		{[]string{convertTestHF, out, "--no-such-flag"}, 2, "unknown flag"},
		{[]string{convertTestHF, filepath.Join(dir, "missing", "x.gguf")}, 1, "cannot write"},
		{[]string{convertTestHF, filepath.Join(convertTestHF, "model.safetensors")}, 1, "refusing to overwrite"},
		{[]string{convertTestHF, dir}, 1, "is a folder"},
		{[]string{filepath.Join(convertTestHF, "config.json"), out}, 1, "not a folder"},
		// bitnet-tiny's FFN width 704 fits neither I2_S nor TQ.
		{[]string{"../../internal/embedded/tiny", out}, 1, "blk.0.ffn_down.weight"},
		{[]string{"../../internal/embedded/tiny", out, "--type", "tq2_0"}, 1, "multiple of 256"},
	} {
		code, _, stderr := convertRun(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed conversions left %v", entries)
	}
	// The same model converts to F16, which has no block constraint.
	if code, _, stderr := convertRun("../../internal/embedded/tiny", out, "--type", "f16"); code != 0 {
		t.Errorf("bitnet-tiny to f16: exit %d: %s", code, stderr)
	}
}

func TestConvertSynthetic(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.gguf")
	if code, _, stderr := convertRun("--synthetic", "golden-tiny", "--type", "tq2_0", "--seed", "3", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if name, _ := f.String("general.name"); name != "golden-tiny-synthetic" || len(f.Tensors) != 24 {
		t.Errorf("name %q, %d tensors", name, len(f.Tensors))
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--synthetic", "nope", "-o", out}, 2, "unknown model"},
		{[]string{"--synthetic", "golden-tiny"}, 2, "name the output"},
		{[]string{"--synthetic", "golden-tiny", convertTestHF, out}, 2, "only OUT"},
		{[]string{"--synthetic", "bitnet_b1_58-3B", "--embd-type", "f16", "-o", out}, 1, "8640"},
	} {
		code, _, stderr := convertRun(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

func TestConvertHelp(t *testing.T) {
	code, stdout, _ := convertRun("--help")
	for _, s := range []string{"Examples:", "--embd-type", "i2_s", "tq2_0", "tq1_0", "q6_k"} {
		if code != 0 || !strings.Contains(stdout, s) {
			t.Errorf("--help (exit %d) lacks %q", code, s)
		}
	}
}
