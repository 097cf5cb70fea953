// Package convert turns Hugging Face BitNet b1.58 checkpoints (packed uint8
// + weight_scale, or float master weights) into GGUF files: I2_S laid out
// exactly as bitnet.cpp's converter writes it, and TQ2_0, TQ1_0 and F16
// laid out as llama.cpp's convert_hf_to_gguf.py + llama-quantize write them.
//
// Prepare reads and checks everything (config, tokenizer, every tensor's
// name, dtype and shape against what the output type can hold) without
// writing; Plan.Write then produces the tensors one at a time while the
// file is written, so memory stays at about one tensor.
package convert

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/bitnet-go/bitnet/internal/gguf"
	"github.com/bitnet-go/bitnet/internal/kernels"
	"github.com/bitnet-go/bitnet/internal/model"
	"github.com/bitnet-go/bitnet/internal/quant"
	"github.com/bitnet-go/bitnet/internal/safetensors"
)

// Type is the storage type of the BitLinear weights in the output.
type Type string

// Output types.
const (
	I2S  Type = "i2_s"  // bitnet.cpp, arch bitnet-b1.58
	TQ2  Type = "tq2_0" // llama.cpp, arch bitnet
	TQ1  Type = "tq1_0" // llama.cpp, arch bitnet
	F16  Type = "f16"   // llama.cpp, arch bitnet
	none Type = ""
)

// Types lists the output types in the order help texts show them.
var Types = []Type{I2S, TQ2, TQ1, F16}

// EmbdType is the storage type of token_embd (and output, if untied).
type EmbdType string

// Embedding types.
const (
	EmbdF16  EmbdType = "f16"
	EmbdF32  EmbdType = "f32"
	EmbdQ8_0 EmbdType = "q8_0"
	EmbdQ6K  EmbdType = "q6_k"
)

// EmbdTypes lists the embedding types.
var EmbdTypes = []EmbdType{EmbdF16, EmbdF32, EmbdQ8_0, EmbdQ6K}

// DefaultEmbdType is what the reference pipelines use: bitnet.cpp's
// converter and llama.cpp's F16 keep F16; llama-quantize stores a tied
// embedding (it doubles as the output matrix) as Q6_K for the TQ types.
func DefaultEmbdType(t Type) EmbdType {
	if t == TQ1 || t == TQ2 {
		return EmbdQ6K
	}
	return EmbdF16
}

func (t EmbdType) ggufType() gguf.Type {
	switch t {
	case EmbdF32:
		return gguf.F32
	case EmbdQ8_0:
		return gguf.Q8_0
	case EmbdQ6K:
		return gguf.Q6_K
	}
	return gguf.F16
}

// fileType is llama.cpp's LLAMA_FTYPE of the output (bitnet.cpp's fork
// for I2_S).
func (t Type) fileType() uint32 {
	switch t {
	case I2S:
		return gguf.FileTypeI2_S
	case TQ1:
		return 36
	case TQ2:
		return 37
	}
	return 1
}

// quantizationVersion is ggml's GGML_QNT_VERSION, which llama.cpp writes
// into every file.
const quantizationVersion = 2

// Options select the output.
type Options struct {
	Type     Type
	EmbdType EmbdType // "" means DefaultEmbdType(Type)
	// Name is general.name; "" derives it from the folder name the way the
	// reference converters do.
	Name string

	// referenceKeys drops the keys we add on purpose beyond what the
	// reference converters wrote for the golden files, so that tests can
	// compare whole files byte for byte.
	referenceKeys bool
}

// Plan is a checked conversion, ready to be written.
type Plan struct {
	In       string
	Type     Type
	EmbdType EmbdType
	Arch     string // general.architecture of the output
	Tensors  int
	Params   int64

	w  *gguf.Writer
	ck *safetensors.Checkpoint
	// ctx is the context of the running Write; the tensor producers the
	// writer calls take no context of their own.
	ctx context.Context
}

// ParseType accepts the names of Types, case-insensitively.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return none, fmt.Errorf("unknown type %q (want %s)", s, joinNames(Types))
}

// ParseEmbdType accepts the names of EmbdTypes, case-insensitively.
func ParseEmbdType(s string) (EmbdType, error) {
	for _, t := range EmbdTypes {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown embedding type %q (want %s)", s, joinNames(EmbdTypes))
}

func joinNames[T ~string](ts []T) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// ShapeError reports a tensor whose shape the output type cannot store.
type ShapeError struct {
	Tensor, HFName string
	Type           Type
	K, Multiple    int
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("tensor %s (%s): %s stores rows in blocks of %d weights, but its rows have %d (not a multiple of %d); convert with --type f16 instead",
		e.Tensor, e.HFName, strings.ToUpper(string(e.Type)), e.Multiple, e.K, e.Multiple)
}

// blockK is the row-length multiple a type needs.
func (t Type) blockK() int {
	switch t {
	case I2S:
		return 128
	case TQ1, TQ2:
		return 256
	}
	return 1
}

type outTensor struct {
	name   string // GGUF name
	hfName string
	typ    gguf.Type
	dims   []uint64 // ne0 first
	fill   func(io.Writer) error
}

// source wraps the checkpoint with the config it is read with.
type source struct {
	dir  string
	ck   *safetensors.Checkpoint
	cfg  *model.Config
	used map[string]bool
}

func (s *source) find(names ...string) (*safetensors.Tensor, error) {
	for _, n := range names {
		if t, ok := s.ck.Tensor(n); ok {
			s.used[n] = true
			return t, nil
		}
	}
	return nil, fmt.Errorf("%s: checkpoint has no tensor %s", s.dir, names[0])
}

func floatDType(t *safetensors.Tensor) error {
	switch t.DType {
	case safetensors.F32, safetensors.F16, safetensors.BF16:
		return nil
	}
	return fmt.Errorf("%s: tensor %s has dtype %s, want F32, F16 or BF16", t.File, t.Name, t.DType)
}

// decodeFloats converts n F32/F16/BF16 values starting at element off.
func decodeFloats(t *safetensors.Tensor, off int, dst []float32) {
	switch t.DType {
	case safetensors.F32:
		b := t.Data[4*off:]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case safetensors.F16:
		b := t.Data[2*off:]
		for i := range dst {
			dst[i] = kernels.F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case safetensors.BF16:
		b := t.Data[2*off:]
		for i := range dst {
			dst[i] = kernels.BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
}

// normalize fills in the defaults and checks the types.
func (o *Options) normalize() error {
	if o.Type == none {
		o.Type = I2S
	}
	if !slices.Contains(Types, o.Type) {
		return fmt.Errorf("unknown type %q (want %s)", o.Type, joinNames(Types))
	}
	if o.EmbdType == "" {
		o.EmbdType = DefaultEmbdType(o.Type)
	}
	if !slices.Contains(EmbdTypes, o.EmbdType) {
		return fmt.Errorf("unknown embedding type %q (want %s)", o.EmbdType, joinNames(EmbdTypes))
	}
	return nil
}

// Prepare reads the checkpoint folder in and checks that it can be
// converted with o. Nothing is written.
func Prepare(in string, o Options) (p *Plan, err error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	st, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder: convert reads a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)", in)
	}
	cfg, err := readConfig(in)
	if err != nil {
		return nil, err
	}
	ck, err := safetensors.OpenDir(in)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ck.Close()
		}
	}()
	voc, err := readVocab(in, cfg.Vocab, cfg.BOS, cfg.EOS)
	if err != nil {
		return nil, err
	}

	src := &source{dir: in, ck: ck, cfg: cfg, used: map[string]bool{}}
	p = &Plan{In: in, Type: o.Type, EmbdType: o.EmbdType, ck: ck, ctx: context.Background()}
	tensors, err := p.tensors(src)
	if err != nil {
		return nil, err
	}
	for _, n := range ck.Names() {
		if !src.used[n] && !ignoredHF(n) {
			return nil, fmt.Errorf("%s: tensor %s is not part of the BitNet b1.58 architecture; refusing to drop it silently", in, n)
		}
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(filepath.Clean(in))
		if o.Type != I2S {
			name = titleName(name)
		}
	}
	if o.referenceKeys {
		voc.eot = -1
		if o.Type == I2S {
			voc.addBOS = nil
		}
	}
	if err := p.finish(cfg, voc, name, tensors, !o.referenceKeys); err != nil {
		return nil, err
	}
	return p, nil
}

// finish orders the tensors, counts the parameters and sets up the writer.
func (p *Plan) finish(cfg *model.Config, voc *vocab, name string, tensors []*outTensor, extraKeys bool) error {
	// The reference converters emit tensors in the checkpoint's (sorted)
	// name order; llama-quantize reorders them by layer.
	if p.Type == TQ1 || p.Type == TQ2 {
		slices.SortFunc(tensors, func(a, b *outTensor) int { return quantizeOrder(a.name, b.name) })
	} else {
		slices.SortFunc(tensors, func(a, b *outTensor) int { return cmp.Compare(a.hfName, b.hfName) })
	}
	for _, t := range tensors {
		n := int64(1)
		for _, d := range t.dims {
			n *= int64(d)
		}
		p.Params += n
	}
	p.Tensors = len(tensors)
	kvs := p.metadata(cfg, voc, name, extraKeys)
	p.w = gguf.NewWriter()
	for _, kv := range kvs.list {
		if err := p.w.AddKV(kv.key, kv.val); err != nil {
			return err
		}
	}
	for _, t := range tensors {
		if err := p.w.AddTensorFunc(t.name, t.typ, t.dims, t.fill); err != nil {
			return err
		}
	}
	return nil
}

// readConfig reads config.json and checks that it describes a model this
// converter knows.
func readConfig(dir string) (*model.Config, error) {
	path := filepath.Join(dir, "config.json")
	cfg, err := model.ReadHFConfig(dir)
	if err != nil {
		return nil, err
	}
	switch cfg.SourceArch {
	case "BitNetForCausalLM", "BitnetForCausalLM":
	default:
		return nil, fmt.Errorf("%s: architecture %s is not a BitNet b1.58 model (want BitNetForCausalLM or BitnetForCausalLM)", path, cfg.SourceArch)
	}
	// ReadHFConfig falls back to SiLU when hidden_act is missing, which is
	// right for 1bitLLM's class but not for BitNetForCausalLM, whose
	// transformers default is relu².
	var raw struct {
		Act *string `json:"hidden_act"`
	}
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &raw) == nil && raw.Act == nil &&
		cfg.SourceArch == "BitNetForCausalLM" {
		cfg.Act = "relu2"
	}
	if err := cfg.Validate(path); err != nil {
		return nil, err
	}
	return cfg, nil
}

// titleName is gguf-py's Metadata.id_to_title, which gives general.name
// from a folder name: words split at '-' and spaces; an all-lowercase
// word that is not a version ("v1.2") or number-like is title-cased
// ("golden-tiny-hf" → "Golden Tiny Hf"), other words are kept.
func titleName(s string) string {
	words := strings.Fields(strings.ReplaceAll(s, "-", " "))
	for i, w := range words {
		if isLowerWord(w) && !versionLike.MatchString(w) {
			words[i] = pyTitle(w)
		}
	}
	return strings.Join(words, " ")
}

var versionLike = regexp.MustCompile(`^(v\d+(?:\.\d+)*|\d.*)$`)

// isLowerWord is Python's str.islower: some cased letter, none upper case.
func isLowerWord(w string) bool {
	cased := false
	for _, r := range w {
		if unicode.IsUpper(r) || unicode.IsTitle(r) {
			return false
		}
		cased = cased || unicode.IsLower(r)
	}
	return cased
}

// pyTitle is Python's str.title: a letter after a non-letter is upper
// case, any other letter lower case.
func pyTitle(w string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range w {
		if prevLetter {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(unicode.ToUpper(r))
		}
		prevLetter = unicode.IsLetter(r)
	}
	return b.String()
}

// sizeLabel is llama.cpp's general.size_label: the parameter count with
// at least two significant digits ("2.6M", "2.4B", "13B").
func sizeLabel(n int64) string {
	x, suffix := float64(n)*1e-3, "K"
	switch {
	case n > 1e12:
		x, suffix = float64(n)*1e-12, "T"
	case n > 1e9:
		x, suffix = float64(n)*1e-9, "B"
	case n > 1e6:
		x, suffix = float64(n)*1e-6, "M"
	}
	digits := len(strings.TrimLeft(fmt.Sprintf("%d", int64(math.RoundToEven(x))), "0"))
	return fmt.Sprintf("%.*f%s", max(2-digits, 0), x, suffix)
}

type kv struct {
	key string
	val any
}

type kvList struct{ list []kv }

func (l *kvList) add(key string, val any) { l.list = append(l.list, kv{key, val}) }

// metadata lists the KVs in the order the reference files have them, so
// that a dump of ours and theirs can be compared line by line.
// extra adds the keys of the official 2B-4T I2_S file that bitnet.cpp's
// current converter no longer writes.
func (p *Plan) metadata(cfg *model.Config, voc *vocab, name string, extra bool) *kvList {
	kvs := &kvList{}
	if p.Type == I2S {
		// bitnet.cpp runs relu² under bitnet-b1.58 and SiLU (1bitLLM) under
		// bitnet, so the activation picks the arch.
		p.Arch = "bitnet-b1.58"
		if cfg.Act == "silu" {
			p.Arch = "bitnet"
		}
	} else {
		p.Arch = "bitnet"
	}
	a := p.Arch + "."
	kvs.add("general.architecture", p.Arch)
	if p.Type != I2S {
		kvs.add("general.type", "model")
	}
	kvs.add("general.name", name)
	if p.Type != I2S {
		kvs.add("general.size_label", sizeLabel(p.Params))
	}
	kvs.add(a+"block_count", uint32(cfg.Layers))
	kvs.add(a+"context_length", uint32(cfg.MaxPos))
	kvs.add(a+"embedding_length", uint32(cfg.Hidden))
	kvs.add(a+"feed_forward_length", uint32(cfg.Intermediate))
	kvs.add(a+"attention.head_count", uint32(cfg.Heads))
	kvs.add(a+"attention.head_count_kv", uint32(cfg.KVHeads))
	kvs.add(a+"rope.freq_base", float32(cfg.RopeTheta))
	kvs.add(a+"attention.layer_norm_rms_epsilon", cfg.RMSEps)
	if cfg.HeadDim != cfg.Hidden/cfg.Heads {
		kvs.add(a+"attention.key_length", uint32(cfg.HeadDim))
		kvs.add(a+"attention.value_length", uint32(cfg.HeadDim))
	}
	switch p.Type {
	case I2S:
		kvs.add("general.file_type", p.Type.fileType())
		if extra {
			kvs.add("general.quantization_version", uint32(quantizationVersion))
		}
		kvs.add(a+"vocab_size", uint32(cfg.Vocab))
		kvs.add(a+"rope.dimension_count", uint32(cfg.HeadDim))
	case F16:
		kvs.add("general.file_type", p.Type.fileType())
	}
	if p.Type != I2S {
		// convert_hf_to_gguf.py's BitnetModel always writes these two.
		kvs.add(a+"rope.scaling.type", "linear")
		kvs.add(a+"rope.scaling.factor", float32(1))
		// llama.cpp's bitnet graph is SiLU unless told otherwise; 2B-4T
		// needs relu² (the key ggml-org/llama.cpp#25885 introduced).
		kvs.add(a+"hidden_activation", cfg.Act)
	}
	if p.Type == F16 {
		kvs.add("general.quantization_version", uint32(quantizationVersion))
	}
	voc.addKVs(kvs, p.Type == I2S)
	if p.Type == TQ1 || p.Type == TQ2 {
		// llama-quantize rewrites these two at the end.
		kvs.add("general.quantization_version", uint32(quantizationVersion))
		kvs.add("general.file_type", p.Type.fileType())
	}
	return kvs
}

// tensorSpec is one tensor of the output with the shape the config
// implies: rows × k for matrices, k values for norms.
type tensorSpec struct {
	name    string
	hfNames []string // as HF checkpoints name it, most common first
	kind    tensorKind
	rows, k int
}

// specs lists the tensors of a tied BitNet b1.58 model.
func specs(cfg *model.Config) []tensorSpec {
	qDim, kvDim := cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
	out := []tensorSpec{
		{"token_embd.weight", []string{"model.embed_tokens.weight"}, kindEmbedding, cfg.Vocab, cfg.Hidden},
		{"output_norm.weight", []string{"model.norm.weight"}, kindNorm, 1, cfg.Hidden},
	}
	shapes := map[string][2]int{ // rows (out features), K (in features)
		"attn_q": {qDim, cfg.Hidden}, "attn_k": {kvDim, cfg.Hidden}, "attn_v": {kvDim, cfg.Hidden},
		"attn_output": {cfg.Hidden, qDim},
		"ffn_gate":    {cfg.Intermediate, cfg.Hidden}, "ffn_up": {cfg.Intermediate, cfg.Hidden},
		"ffn_down":  {cfg.Hidden, cfg.Intermediate},
		"attn_norm": {1, cfg.Hidden}, "attn_sub_norm": {1, qDim}, "ffn_norm": {1, cfg.Hidden}, "ffn_sub_norm": {1, cfg.Intermediate},
	}
	for l := 0; l < cfg.Layers; l++ {
		for _, lt := range layerTensors {
			hf := make([]string, len(lt.hf))
			for i, h := range lt.hf {
				hf[i] = fmt.Sprintf("model.layers.%d.%s.weight", l, h)
			}
			sh := shapes[lt.gguf]
			out = append(out, tensorSpec{blkName(l, lt.gguf), hf, lt.kind, sh[0], sh[1]})
		}
	}
	return out
}

// tensors lists every output tensor, checking each source tensor's dtype
// and shape and each row length against the output types.
func (p *Plan) tensors(s *source) ([]*outTensor, error) {
	cfg := s.cfg
	var out []*outTensor
	for _, sp := range specs(cfg) {
		var (
			t   *outTensor
			err error
		)
		switch sp.kind {
		case kindNorm:
			t, err = p.norm(s, sp.name, sp.k, sp.hfNames...)
		case kindEmbedding:
			t, err = p.embedding(s, sp.name, sp.hfNames[0])
		default:
			t, err = p.bitLinear(s, sp.name, sp.rows, sp.k, sp.hfNames...)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	// Without lm_head.weight the model is tied whatever config.json says
	// (transformers' own default differs between config classes).
	if _, ok := s.ck.Tensor("lm_head.weight"); ok {
		if cfg.TiedEmbedding {
			// A tied model may still store the copy; the GGUF leaves it out
			// as the reference converters do.
			s.used["lm_head.weight"] = true
		} else {
			t, err := p.embedding(s, "output.weight", "lm_head.weight")
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	return out, nil
}

func (p *Plan) norm(s *source, name string, n int, hf ...string) (*outTensor, error) {
	t, err := s.find(hf...)
	if err != nil {
		return nil, err
	}
	if err := floatDType(t); err != nil {
		return nil, err
	}
	if !slices.Equal(t.Shape, []int{n}) {
		return nil, fmt.Errorf("%s: tensor %s has shape %v, want [%d]", t.File, t.Name, t.Shape, n)
	}
	return &outTensor{name: name, hfName: t.Name, typ: gguf.F32, dims: []uint64{uint64(n)},
		fill: func(w io.Writer) error {
			x := make([]float32, n)
			decodeFloats(t, 0, x)
			_, err := w.Write(f32Bytes(x))
			return err
		}}, nil
}

func f32Bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func (p *Plan) embedding(s *source, name, hf string) (*outTensor, error) {
	t, err := s.find(hf)
	if err != nil {
		return nil, err
	}
	if err := floatDType(t); err != nil {
		return nil, err
	}
	rows, cols := s.cfg.Vocab, s.cfg.Hidden
	if !slices.Equal(t.Shape, []int{rows, cols}) {
		return nil, fmt.Errorf("%s: tensor %s has shape %v, want [%d %d]", t.File, t.Name, t.Shape, rows, cols)
	}
	return p.embeddingTensor(name, t.Name, rows, cols, func(r int, dst []float32) { decodeFloats(t, r*cols, dst) })
}

// embeddingTensor encodes a rows × cols float matrix, whose rows row
// produces, as the embedding type.
func (p *Plan) embeddingTensor(name, hf string, rows, cols int, row func(r int, dst []float32)) (*outTensor, error) {
	typ := p.EmbdType.ggufType()
	if bs := typ.BlockSize(); cols%bs != 0 {
		return nil, fmt.Errorf("tensor %s (%s): %s needs rows of a multiple of %d values, the hidden size is %d; use --embd-type f16",
			name, hf, strings.ToUpper(string(p.EmbdType)), bs, cols)
	}
	rowBytes, err := typ.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	return &outTensor{name: name, hfName: hf, typ: typ, dims: []uint64{uint64(cols), uint64(rows)},
		fill: func(w io.Writer) error { return p.writeEmbedding(w, row, rows, cols, rowBytes) }}, nil
}

// writeEmbedding encodes the embedding in chunks of rows, quantising the
// rows of a chunk in parallel (Q6_K's scale search is the slowest step of
// a conversion). Every row is encoded on its own, so the bytes do not
// depend on the number of workers.
func (p *Plan) writeEmbedding(w io.Writer, row func(int, []float32), rows, cols, rowBytes int) error {
	const chunk = 512
	workers := max(1, min(runtime.GOMAXPROCS(0), 16))
	buf := make([]byte, chunk*rowBytes)
	scratch := make([][]float32, workers)
	for i := range scratch {
		scratch[i] = make([]float32, cols)
	}
	for r0 := 0; r0 < rows; r0 += chunk {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		n := min(chunk, rows-r0)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			firstErr error
		)
		for wk := 0; wk < workers; wk++ {
			wg.Add(1)
			go func(wk int) {
				defer wg.Done()
				x := scratch[wk]
				for r := wk; r < n; r += workers {
					row(r0+r, x)
					if err := p.encodeEmbeddingRow(buf[r*rowBytes:(r+1)*rowBytes], x); err != nil {
						mu.Lock()
						firstErr = cmp.Or(firstErr, err)
						mu.Unlock()
						return
					}
				}
			}(wk)
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		if _, err := w.Write(buf[:n*rowBytes]); err != nil {
			return err
		}
	}
	return nil
}

func (p *Plan) encodeEmbeddingRow(dst []byte, x []float32) error {
	switch p.EmbdType {
	case EmbdF32:
		for i, v := range x {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
		return nil
	case EmbdF16:
		for i, v := range x {
			binary.LittleEndian.PutUint16(dst[2*i:], kernels.F32ToF16(v))
		}
		return nil
	}
	// The reference pipeline quantises from an F16 GGUF (llama-quantize
	// after convert_hf_to_gguf.py --outtype f16); rounding through F16
	// first keeps the blocks byte-identical to it.
	for i, v := range x {
		x[i] = kernels.F16ToF32(kernels.F32ToF16(v))
	}
	if p.EmbdType == EmbdQ8_0 {
		return quant.QuantizeRowQ8_0(dst, x)
	}
	return quant.QuantizeRowQ6K(dst, x)
}

func (p *Plan) bitLinear(s *source, name string, rows, k int, hf ...string) (*outTensor, error) {
	t, err := s.find(hf...)
	if err != nil {
		return nil, err
	}
	load, err := ternarySource(s, t, rows, k)
	if err != nil {
		return nil, err
	}
	return p.ternaryTensor(name, t.Name, rows, k, load)
}

// ternaryTensor encodes the BitLinear weight load produces as the output
// type, after checking that its rows fit the type's blocks.
func (p *Plan) ternaryTensor(name, hf string, rows, k int, load func() (*quant.Ternary, error)) (*outTensor, error) {
	if m := p.Type.blockK(); k%m != 0 {
		return nil, &ShapeError{Tensor: name, HFName: hf, Type: p.Type, K: k, Multiple: m}
	}
	ot := &outTensor{name: name, hfName: hf, dims: []uint64{uint64(k), uint64(rows)}}
	switch p.Type {
	case I2S:
		ot.typ = gguf.I2_S
	case TQ2:
		ot.typ = gguf.TQ2_0
	case TQ1:
		ot.typ = gguf.TQ1_0
	default:
		ot.typ = gguf.F16
	}
	ot.fill = func(w io.Writer) error {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		tern, err := load()
		if err != nil {
			return err
		}
		var data []byte
		switch p.Type {
		case I2S:
			data, err = tern.ToI2S()
		case TQ2:
			if data, err = tern.ToTQ2(); err == nil {
				zeroEmptyBlockScales(tern, data, 66)
			}
		case TQ1:
			if data, err = tern.ToTQ1(); err == nil {
				zeroEmptyBlockScales(tern, data, 54)
			}
		default:
			data = ternaryF16(tern)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		_, err = w.Write(data)
		return err
	}
	return ot, nil
}

// ternarySource checks a BitLinear weight and returns the function that
// reads it into kernel layout: packed uint8 + weight_scale as stored, a
// float master ternarised with the per-tensor absmean rule. The scale
// conventions are internal/model's, so that a converted file computes
// what the engine computes from the folder.
func ternarySource(s *source, t *safetensors.Tensor, rows, k int) (func() (*quant.Ternary, error), error) {
	if t.DType == safetensors.U8 || t.DType == safetensors.I8 {
		if rows%4 != 0 || !slices.Equal(t.Shape, []int{rows / 4, k}) {
			return nil, fmt.Errorf("%s: packed tensor %s has shape %v, want [%d %d] (%d rows packed 4 to a byte)", t.File, t.Name, t.Shape, rows/4, k, rows)
		}
		scaleName := strings.TrimSuffix(t.Name, ".weight") + ".weight_scale"
		st, err := s.find(scaleName)
		if err != nil {
			return nil, fmt.Errorf("%s: packed tensor %s has no %s", s.dir, t.Name, scaleName)
		}
		if err := floatDType(st); err != nil {
			return nil, err
		}
		if st.NumElements() != 1 {
			return nil, fmt.Errorf("%s: tensor %s must hold one value, holds %d", st.File, st.Name, st.NumElements())
		}
		var sv [1]float32
		decodeFloats(st, 0, sv[:])
		scale := sv[0]
		if !(scale > 0) || math.IsInf(float64(scale), 0) {
			return nil, fmt.Errorf("%s: tensor %s is %v, want a positive scale", st.File, st.Name, scale)
		}
		if s.cfg.LinearClass == "bitlinear" {
			// transformers' BitLinear divides by weight_scale; every output
			// format multiplies.
			scale = 1 / scale
		}
		return func() (*quant.Ternary, error) {
			w, err := quant.FromHFPacked(nil, t.Data, rows, k, scale)
			if err != nil {
				return nil, fmt.Errorf("%s: tensor %s: %v", t.File, t.Name, err)
			}
			return w, nil
		}, nil
	}
	if err := floatDType(t); err != nil {
		return nil, fmt.Errorf("%v (or U8 packed ternary)", err)
	}
	if !slices.Equal(t.Shape, []int{rows, k}) {
		return nil, fmt.Errorf("%s: tensor %s has shape %v, want [%d %d]", t.File, t.Name, t.Shape, rows, k)
	}
	return func() (*quant.Ternary, error) {
		f := make([]float32, rows*k)
		decodeFloats(t, 0, f)
		w, err := quant.FromFloat(nil, f, rows, k)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %v", t.File, t.Name, err)
		}
		// A half-precision master dequantises to W_q·scale in its own
		// dtype (transformers' online weight quantisation).
		switch t.DType {
		case safetensors.BF16:
			w.Scale = kernels.BF16ToF32(kernels.F32ToBF16(w.Scale))
		case safetensors.F16:
			w.Scale = kernels.F16ToF32(kernels.F32ToF16(w.Scale))
		}
		return w, nil
	}, nil
}

// zeroEmptyBlockScales sets the f16 scale of every 256-weight block that
// holds only zeros to 0, which is what llama-quantize's per-block amax
// gives; quant's serialisers give every block the tensor scale. In kernel
// layout a 256-weight block is 64 bytes, all 0x55 when its codes are 1.
func zeroEmptyBlockScales(t *quant.Ternary, data []byte, blockBytes int) {
	nb := t.K / 256
	for r := 0; r < t.Rows; r++ {
		for b := 0; b < nb; b++ {
			codes := t.Data[r*t.Stride+b*64 : r*t.Stride+b*64+64]
			empty := true
			for _, c := range codes {
				if c != 0x55 {
					empty = false
					break
				}
			}
			if empty {
				end := (r*nb + b + 1) * blockBytes
				data[end-2], data[end-1] = 0, 0
			}
		}
	}
}

// ternaryF16 dequantises to F16 rows, ternary × scale, as the fixed
// llama.cpp converter stores a BitLinear weight in an F16 file.
func ternaryF16(t *quant.Ternary) []byte {
	out := make([]byte, 2*t.Rows*t.K)
	pos, neg, zero := kernels.F32ToF16(t.Scale), kernels.F32ToF16(-t.Scale), kernels.F32ToF16(0)
	for r := 0; r < t.Rows; r++ {
		for c := 0; c < t.K; c++ {
			h := zero
			switch t.Get(r, c) {
			case 1:
				h = pos
			case -1:
				h = neg
			}
			binary.LittleEndian.PutUint16(out[2*(r*t.K+c):], h)
		}
	}
	return out
}

// CheckOutput fails unless out can be created: it is not a folder, not one
// of the files of the input folder in, and its folder accepts a new file.
// Run it before Prepare so that a typo in OUT costs nothing.
func CheckOutput(in, out string) error {
	if out == "" {
		return errors.New("no output file named")
	}
	if st, err := os.Stat(out); err == nil {
		if st.IsDir() {
			return fmt.Errorf("output %s is a folder; name the .gguf file to write", out)
		}
		if inSt, err := os.Stat(in); err == nil {
			if os.SameFile(st, inSt) {
				return fmt.Errorf("output %s is the input; refusing to overwrite it", out)
			}
			if inSt.IsDir() {
				entries, _ := os.ReadDir(in)
				for _, e := range entries {
					if est, err := os.Stat(filepath.Join(in, e.Name())); err == nil && os.SameFile(st, est) {
						return fmt.Errorf("output %s is %s of the input checkpoint; refusing to overwrite it", out, e.Name())
					}
				}
			}
		}
	}
	dir := filepath.Dir(out)
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("cannot write %s: %w", out, err)
	} else if !st.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a folder", out, dir)
	}
	f, err := os.CreateTemp(dir, ".bitnet-convert-check-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", out, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// Write writes the GGUF file to out through a temporary file that is
// renamed into place at the end, so that a failed or interrupted
// conversion leaves no partial file. progress, if not nil, is called with
// the bytes written so far and the file size.
func (p *Plan) Write(ctx context.Context, out string, progress func(done, total int64)) error {
	p.ctx = ctx
	defer func() { p.ctx = context.Background() }()
	p.w.SetProgress(progress)
	if err := p.w.WriteFile(out); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("conversion interrupted: %w", ctxErr)
		}
		return err
	}
	return nil
}

// Close releases the checkpoint's mappings.
func (p *Plan) Close() error {
	if p.ck == nil {
		return nil
	}
	return p.ck.Close()
}
