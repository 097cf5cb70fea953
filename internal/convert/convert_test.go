package convert

import (
	"bytes"
	"cmp"
	"compress/bzip2"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bitnet-go/bitnet/internal/gguf"
	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/model"
	_ "github.com/bitnet-go/bitnet/internal/model/bitnet"
	"github.com/bitnet-go/bitnet/internal/quant"
	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

const (
	goldenHF = "../../testdata/golden/golden-tiny-hf"
	// bitnet-tiny: FFN width 704, which neither I2_S nor TQ can hold.
	tinyHF = "../embedded/tiny"
	// The F16 conversion of bitnet-tiny by the reference converter; only in
	// the shared test data, not in the repository.
	tinyF16Ref = "/work/shared/testdata/golden/bitnet-tiny-f16/bitnet-tiny.f16.gguf"
)

// goldenCompressed are the reference converters' outputs for golden-tiny-hf.
var goldenCompressed = map[Type]string{
	I2S: "../../testdata/gguf/golden-tiny.i2_s.gguf.bz2",
	TQ2: "../../testdata/gguf/golden-tiny.tq2_0.gguf.bz2",
	TQ1: "../../testdata/golden/golden-tiny.tq1_0.gguf.bz2",
	F16: "../../testdata/golden/golden-tiny.f16.gguf.bz2",
}

var (
	scratchDir string
	goldenMu   sync.Mutex
	goldenPath = map[Type]string{}
)

func TestMain(m *testing.M) {
	var err error
	if scratchDir, err = os.MkdirTemp("", "convert-test-*"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(scratchDir)
	os.Exit(code)
}

// golden decompresses a reference file once per test binary.
func golden(t *testing.T, typ Type) string {
	t.Helper()
	goldenMu.Lock()
	defer goldenMu.Unlock()
	if p, ok := goldenPath[typ]; ok {
		return p
	}
	src := goldenCompressed[typ]
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := filepath.Join(scratchDir, strings.TrimSuffix(filepath.Base(src), ".bz2"))
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, bzip2.NewReader(f)); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	goldenPath[typ] = dst
	return dst
}

func convertTo(t *testing.T, in string, o Options) string {
	t.Helper()
	p, err := Prepare(in, o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := filepath.Join(t.TempDir(), "out.gguf")
	if err := p.Write(context.Background(), out, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

func openGGUF(t *testing.T, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// compareTensors checks names, order, types, dims and data bytes.
func compareTensors(t *testing.T, got, want *gguf.File) {
	t.Helper()
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, reference has %d", len(got.Tensors), len(want.Tensors))
	}
	for i, wt := range want.Tensors {
		gt := got.Tensors[i]
		if gt.Name != wt.Name {
			t.Errorf("tensor %d is %s, reference has %s", i, gt.Name, wt.Name)
			continue
		}
		if gt.Type != wt.Type || !slices.Equal(gt.Dims, wt.Dims) {
			t.Errorf("%s: %v%v, reference %v%v", wt.Name, gt.Type, gt.Dims, wt.Type, wt.Dims)
			continue
		}
		if !bytes.Equal(got.Data(gt), want.Data(wt)) {
			t.Errorf("%s: data differs from the reference", wt.Name)
		}
	}
}

// The keys we write on purpose beyond the reference converters' (see
// Options.referenceKeys): quantization_version and add_bos_token are in
// the official 2B-4T I2_S file; eot carries generation_config's second
// stop id.
var extraKeys = map[Type]map[string]any{
	I2S: {"general.quantization_version": uint32(2), "tokenizer.ggml.eot_token_id": uint32(4095), "tokenizer.ggml.add_bos_token": true},
	TQ2: {"tokenizer.ggml.eot_token_id": uint32(4095)},
	TQ1: {"tokenizer.ggml.eot_token_id": uint32(4095)},
	F16: {"tokenizer.ggml.eot_token_id": uint32(4095)},
}

func TestMatchesReferenceConverters(t *testing.T) {
	for _, typ := range Types {
		t.Run(string(typ), func(t *testing.T) {
			want := openGGUF(t, golden(t, typ))
			got := openGGUF(t, convertTo(t, goldenHF, Options{Type: typ}))
			compareTensors(t, got, want)
			for _, kv := range want.KVs {
				v, ok := got.Get(kv.Key)
				if !ok {
					t.Errorf("missing key %s", kv.Key)
				} else if !reflect.DeepEqual(v, kv.Value) {
					t.Errorf("key %s = %v, reference %v", kv.Key, short(v), short(kv.Value))
				}
			}
			extra := map[string]any{}
			for _, kv := range got.KVs {
				if _, ok := want.Get(kv.Key); !ok {
					extra[kv.Key] = kv.Value
				}
			}
			if !reflect.DeepEqual(extra, extraKeys[typ]) {
				t.Errorf("keys beyond the reference: %v, want %v", extra, extraKeys[typ])
			}
		})
	}
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// Without our extra keys the whole file, header and padding included, is
// the reference converter's byte for byte.
func TestWholeFileIdentical(t *testing.T) {
	for _, typ := range Types {
		t.Run(string(typ), func(t *testing.T) {
			got, err := os.ReadFile(convertTo(t, goldenHF, Options{Type: typ, referenceKeys: true}))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(golden(t, typ))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%d bytes differ from the %d-byte reference", len(got), len(want))
			}
		})
	}
}

// TQ tensors decode to the same ternary values and scales as
// llama-quantize's (what matters to an engine, independent of bytes).
func TestTQDecodesLikeReference(t *testing.T) {
	for _, typ := range []Type{TQ2, TQ1} {
		t.Run(string(typ), func(t *testing.T) {
			want := openGGUF(t, golden(t, typ))
			got := openGGUF(t, convertTo(t, goldenHF, Options{Type: typ}))
			decode := quant.FromTQ2
			if typ == TQ1 {
				decode = quant.FromTQ1
			}
			n := 0
			for _, wt := range want.Tensors {
				if wt.Type != gguf.TQ2_0 && wt.Type != gguf.TQ1_0 {
					continue
				}
				n++
				gt, _ := got.Tensor(wt.Name)
				k, rows := int(wt.Dims[0]), int(wt.Dims[1])
				a, err := decode(nil, got.Data(gt), rows, k)
				if err != nil {
					t.Fatal(err)
				}
				b, err := decode(nil, want.Data(wt), rows, k)
				if err != nil {
					t.Fatal(err)
				}
				if a.Scale != b.Scale {
					t.Errorf("%s: scale %g, reference %g", wt.Name, a.Scale, b.Scale)
				}
				if !bytes.Equal(a.Data, b.Data) {
					t.Errorf("%s: ternary values differ", wt.Name)
				}
			}
			if n != 14 {
				t.Errorf("%d ternary tensors, want 14", n)
			}
		})
	}
}

// The F16 file's BitLinear weights are ternary × scale; compare values.
func TestF16ValuesLikeReference(t *testing.T) {
	want := openGGUF(t, golden(t, F16))
	got := openGGUF(t, convertTo(t, goldenHF, Options{Type: F16}))
	for _, wt := range want.Tensors {
		if wt.Type != gguf.F16 || wt.Name == "token_embd.weight" {
			continue
		}
		gt, _ := got.Tensor(wt.Name)
		a, b := got.Data(gt), want.Data(wt)
		var worst float64
		for i := 0; i < len(b); i += 2 {
			x := kernels.F16ToF32(binary.LittleEndian.Uint16(a[i:]))
			y := kernels.F16ToF32(binary.LittleEndian.Uint16(b[i:]))
			// One f16 rounding step is at most 2⁻¹¹ relative.
			if d := math.Abs(float64(x - y)); d > math.Abs(float64(y))/2048 {
				worst = max(worst, d)
			}
		}
		if worst > 0 {
			t.Errorf("%s: values differ by up to %g, more than f16 rounding", wt.Name, worst)
		}
	}
}

// Our Q6_K quantiser, fed the reference F16 embedding, reproduces
// llama-quantize's Q6_K token_embd.
func TestQ6KMatchesLlamaQuantize(t *testing.T) {
	f16 := openGGUF(t, golden(t, F16))
	tq := openGGUF(t, golden(t, TQ2))
	src, _ := f16.Tensor("token_embd.weight")
	dst, _ := tq.Tensor("token_embd.weight")
	if dst.Type != gguf.Q6_K {
		t.Fatalf("reference token_embd is %v", dst.Type)
	}
	cols, rows := int(src.Dims[0]), int(src.Dims[1])
	in, want := f16.Data(src), tq.Data(dst)
	rb := quant.RowBytesQ6K(cols)
	x := make([]float32, cols)
	buf := make([]byte, rb)
	bad := 0
	for r := 0; r < rows; r++ {
		for i := range x {
			x[i] = kernels.F16ToF32(binary.LittleEndian.Uint16(in[2*(r*cols+i):]))
		}
		if err := quant.QuantizeRowQ6K(buf, x); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, want[r*rb:(r+1)*rb]) {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d rows differ from llama-quantize's", bad, rows)
	}
}

type prompt struct {
	Name string  `json:"name"`
	IDs  []int32 `json:"ids"`
}

func prompts(t *testing.T) ([]prompt, int) {
	t.Helper()
	b, err := os.ReadFile("../../testdata/golden/golden-tiny.reference.min.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Prompts []prompt `json:"prompts"`
		NGen    int      `json:"n_gen"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref.Prompts, ref.NGen
}

func greedy(t *testing.T, path string, ps []prompt, n int) [][]int32 {
	t.Helper()
	m, err := model.Load(path, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var all [][]int32
	for _, p := range ps {
		seq := m.NewCache(0)
		out, err := m.Forward([]model.Input{{Seq: seq, Tokens: p.IDs}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int32
		for len(ids) < n {
			best := int32(0)
			for i, v := range out[0] {
				if v > out[0][best] {
					best = int32(i)
				}
			}
			ids = append(ids, best)
			if out, err = m.Forward([]model.Input{{Seq: seq, Tokens: []int32{best}}}); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, ids)
	}
	return all
}

// A converted file generates what the engine generates from the folder.
func TestRoundTripGreedy(t *testing.T) {
	ps, n := prompts(t)
	want := greedy(t, goldenHF, ps, n)
	for _, o := range []Options{
		{Type: I2S}, {Type: TQ2}, {Type: TQ1}, {Type: F16},
		{Type: I2S, EmbdType: EmbdQ8_0}, {Type: I2S, EmbdType: EmbdQ6K}, {Type: I2S, EmbdType: EmbdF32},
	} {
		t.Run(fmt.Sprintf("%s/%s", o.Type, cmp.Or(o.EmbdType, DefaultEmbdType(o.Type))), func(t *testing.T) {
			got := greedy(t, convertTo(t, goldenHF, o), ps, n)
			for i := range ps {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("prompt %s: %v, folder gives %v", ps[i].Name, got[i], want[i])
				}
			}
		})
	}
}

func TestTokenizerRoundTrip(t *testing.T) {
	hf, err := tokenizer.Load(goldenHF)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []Type{I2S, TQ2} {
		g, err := tokenizer.LoadGGUF(convertTo(t, goldenHF, Options{Type: typ}))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"Once upon a time, there was a girl named Mia.", "  spaces\n\nand 12345 digits!", "<|eot_id|>User: hi<|eot_id|>Assistant: "} {
			o := tokenizer.EncodeOptions{AddSpecial: true}
			if a, b := g.Encode(s, o), hf.Encode(s, o); !slices.Equal(a, b) {
				t.Errorf("%s: %q encodes to %v, folder tokenizer %v", typ, s, a, b)
			}
		}
		if !slices.Equal(g.EOS(), hf.EOS()) || g.BOS() != hf.BOS() {
			t.Errorf("%s: bos %d eos %v, folder tokenizer bos %d eos %v", typ, g.BOS(), g.EOS(), hf.BOS(), hf.EOS())
		}
		if g.ChatTemplate() != hf.ChatTemplate() {
			t.Errorf("%s: chat template differs", typ)
		}
	}
}

// bitnet-tiny's FFN width 704 fits neither I2_S (K % 128) nor TQ
// (K % 256): Prepare must say which tensor and why.
func TestUnsupportedShapes(t *testing.T) {
	for _, tc := range []struct {
		typ Type
		mul int
	}{{I2S, 128}, {TQ2, 256}, {TQ1, 256}} {
		_, err := Prepare(tinyHF, Options{Type: tc.typ})
		var se *ShapeError
		if !errors.As(err, &se) {
			t.Fatalf("%s: error %v, want a ShapeError", tc.typ, err)
		}
		if se.Tensor != "blk.0.ffn_down.weight" || se.K != 704 || se.Multiple != tc.mul {
			t.Errorf("%s: %+v", tc.typ, se)
		}
		for _, s := range []string{"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", "704", fmt.Sprint(tc.mul), "--type f16"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not mention %s", tc.typ, err, s)
			}
		}
	}
	if _, err := Prepare(tinyHF, Options{Type: F16, EmbdType: EmbdQ6K}); err != nil {
		t.Errorf("f16 with q6_k embedding (hidden 256): %v", err)
	}
}

func TestTinyF16(t *testing.T) {
	out := convertTo(t, tinyHF, Options{Type: F16})
	ps := []prompt{{"a", []int32{4086, 300, 301, 302}}, {"b", []int32{4086, 1000}}}
	got, want := greedy(t, out, ps, 8), greedy(t, tinyHF, ps, 8)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("greedy %v, folder gives %v", got, want)
	}
	if _, err := os.Stat(tinyF16Ref); err != nil {
		t.Skip("reference bitnet-tiny.f16.gguf not available")
	}
	// The reference file's model card keys (tags, languages) come from a
	// README the embedded copy does not have; the tensors must agree.
	compareTensors(t, openGGUF(t, out), openGGUF(t, tinyF16Ref))
}

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ out, want string }{
		{"", "no output"},
		{dir, "is a folder"},
		{filepath.Join(dir, "missing", "x.gguf"), "no such file"},
		{filepath.Join(file, "x.gguf"), "not a folder"},
		{filepath.Join(goldenHF, "model.safetensors"), "model.safetensors of the input"},
		{filepath.Join(goldenHF, "config.json"), "config.json of the input"},
	} {
		err := CheckOutput(goldenHF, tc.out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("out %q: %v, want an error mentioning %q", tc.out, err, tc.want)
		}
	}
	if err := CheckOutput(goldenHF, filepath.Join(dir, "new.gguf")); err != nil {
		t.Fatal(err)
	}
	if err := CheckOutput(goldenHF, file); err != nil {
		t.Errorf("overwriting an unrelated file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the check left files behind: %v", entries)
	}
}

// An interrupted conversion leaves neither the output nor a temp file.
func TestCancelledWriteLeavesNothing(t *testing.T) {
	p, err := Prepare(goldenHF, Options{Type: TQ2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Write(ctx, filepath.Join(dir, "out.gguf"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestSizeLabelAndName(t *testing.T) {
	for n, want := range map[int64]string{
		2_624_768: "2.6M", 2_412_380_160: "2.4B", 13_000_000_000: "13B", 700_000_000: "700M",
		125_000_000: "125M", 999: "1.0K", 3_300_000_000: "3.3B",
	} {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
	for in, want := range map[string]string{
		"golden-tiny-hf": "Golden Tiny Hf", "bitnet-b1.58-2B-4T": "Bitnet B1.58 2B 4T",
		"bitnet_b1_58-large": "Bitnet_B1_58 Large", "model-v1.2": "Model v1.2",
	} {
		if got := titleName(in); got != want {
			t.Errorf("titleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadMerges(t *testing.T) {
	got, err := readMerges(json.RawMessage(`[["a b", "c"], ["Ġt", "he"]]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"aĠb c", "Ġt he"}; !slices.Equal(got, want) {
		t.Errorf("pairs: %q, want %q", got, want)
	}
	got, err = readMerges(json.RawMessage(`["h e", "Ġ t"]`))
	if err != nil || !slices.Equal(got, []string{"h e", "Ġ t"}) {
		t.Errorf("strings: %q, %v", got, err)
	}
}
