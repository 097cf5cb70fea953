package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"
)

// SentencePiece piece types (sentencepiece_model.proto).
const (
	pieceNormal      = 1
	pieceUnknown     = 2
	pieceControl     = 3
	pieceUserDefined = 4
	pieceUnused      = 5
	pieceByte        = 6
)

// protoReader walks protobuf wire format. It only needs what
// sentencepiece_model.proto uses: varints, 32-bit floats and
// length-delimited fields.
type protoReader struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated or malformed protobuf")

func (r *protoReader) varint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// next returns the next field number and wire type, or ok=false at the end
// or on error.
func (r *protoReader) next() (field int, wire int, ok bool) {
	if r.err != nil || len(r.b) == 0 {
		return 0, 0, false
	}
	key := r.varint()
	if r.err != nil {
		return 0, 0, false
	}
	if key>>3 == 0 || key>>3 > math.MaxInt32 {
		r.err = errTruncated
		return 0, 0, false
	}
	return int(key >> 3), int(key & 7), true
}

func (r *protoReader) bytes() []byte {
	n := r.varint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errTruncated
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *protoReader) fixed32() uint32 {
	if len(r.b) < 4 {
		r.err = errTruncated
		r.b = nil
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// skip skips a field of the given wire type.
func (r *protoReader) skip(wire int) {
	switch wire {
	case 0:
		r.varint()
	case 1:
		if len(r.b) < 8 {
			r.err = errTruncated
			r.b = nil
			return
		}
		r.b = r.b[8:]
	case 2:
		r.bytes()
	case 5:
		r.fixed32()
	default:
		r.err = fmt.Errorf("unsupported protobuf wire type %d", wire)
		r.b = nil
	}
}

type spmPiece struct {
	piece string
	score float32
	typ   int
}

// spmModel is the part of a SentencePiece ModelProto this package uses.
type spmModel struct {
	pieces            []spmPiece
	modelType         int // 1 unigram, 2 BPE, 3 word, 4 char
	byteFallback      bool
	unkID, bosID      int64
	eosID, padID      int64
	whitespaceSuffix  bool
	normalizerName    string
	charsmap          []byte
	addDummyPrefix    bool
	removeExtraSpaces bool
	escapeWhitespaces bool
}

func parseSPM(path string, data []byte) (*spmModel, error) {
	m := &spmModel{
		modelType: 1, unkID: 0, bosID: 1, eosID: 2, padID: -1,
		addDummyPrefix: true, removeExtraSpaces: true, escapeWhitespaces: true,
	}
	bad := func(field string, err error) error { return fieldErr(path, field, "%v", err) }
	r := protoReader{b: data}
	for {
		f, w, ok := r.next()
		if !ok {
			break
		}
		switch {
		case f == 1 && w == 2:
			p := spmPiece{typ: pieceNormal}
			pr := protoReader{b: r.bytes()}
			for {
				f, w, ok := pr.next()
				if !ok {
					break
				}
				switch {
				case f == 1 && w == 2:
					p.piece = string(pr.bytes())
				case f == 2 && w == 5:
					p.score = math.Float32frombits(pr.fixed32())
				case f == 3 && w == 0:
					p.typ = int(pr.varint())
				default:
					pr.skip(w)
				}
			}
			if pr.err != nil {
				return nil, bad(fmt.Sprintf("pieces[%d]", len(m.pieces)), pr.err)
			}
			m.pieces = append(m.pieces, p)
		case f == 2 && w == 2:
			tr := protoReader{b: r.bytes()}
			for {
				f, w, ok := tr.next()
				if !ok {
					break
				}
				switch {
				case f == 3 && w == 0:
					m.modelType = int(tr.varint())
				case f == 35 && w == 0:
					m.byteFallback = tr.varint() != 0
				case f == 24 && w == 0:
					m.whitespaceSuffix = tr.varint() != 0
				case f == 40 && w == 0:
					m.unkID = int64(int32(tr.varint()))
				case f == 41 && w == 0:
					m.bosID = int64(int32(tr.varint()))
				case f == 42 && w == 0:
					m.eosID = int64(int32(tr.varint()))
				case f == 43 && w == 0:
					m.padID = int64(int32(tr.varint()))
				default:
					tr.skip(w)
				}
			}
			if tr.err != nil {
				return nil, bad("trainer_spec", tr.err)
			}
		case f == 3 && w == 2:
			nr := protoReader{b: r.bytes()}
			for {
				f, w, ok := nr.next()
				if !ok {
					break
				}
				switch {
				case f == 1 && w == 2:
					m.normalizerName = string(nr.bytes())
				case f == 2 && w == 2:
					m.charsmap = nr.bytes()
				case f == 3 && w == 0:
					m.addDummyPrefix = nr.varint() != 0
				case f == 4 && w == 0:
					m.removeExtraSpaces = nr.varint() != 0
				case f == 5 && w == 0:
					m.escapeWhitespaces = nr.varint() != 0
				default:
					nr.skip(w)
				}
			}
			if nr.err != nil {
				return nil, bad("normalizer_spec", nr.err)
			}
		default:
			r.skip(w)
		}
	}
	if r.err != nil {
		return nil, bad("", r.err)
	}
	if len(m.pieces) == 0 {
		return nil, fieldErr(path, "pieces", "no pieces: not a SentencePiece model")
	}
	if len(m.pieces) >= maxTokenID {
		return nil, fieldErr(path, "pieces", "too many pieces (%d)", len(m.pieces))
	}
	return m, nil
}

// fromSPM builds a Tokenizer with SentencePiece BPE semantics, set up the way
// HF's LlamaConverter turns a tokenizer.model into a tokenizer.json: the
// unknown and control pieces become special added tokens, user-defined
// pieces plain added tokens, and the decoder is
// Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0).
func fromSPM(path string, m *spmModel) (*Tokenizer, error) {
	switch m.modelType {
	case 2:
	case 1:
		return nil, fieldErr(path, "trainer_spec.model_type", "unigram models are not supported (only BPE)")
	default:
		return nil, fieldErr(path, "trainer_spec.model_type", "model type %d is not supported (only BPE)", m.modelType)
	}
	if len(m.charsmap) > 0 {
		return nil, fieldErr(path, "normalizer_spec.precompiled_charsmap", "normalizer %q is not supported (only identity)", m.normalizerName)
	}
	if m.whitespaceSuffix {
		return nil, fieldErr(path, "trainer_spec.treat_whitespace_as_suffix", "not supported")
	}
	pieces := make([]string, len(m.pieces))
	scores := make([]float32, len(m.pieces))
	types := make([]int32, len(m.pieces))
	for i, p := range m.pieces {
		pieces[i], scores[i], types[i] = p.piece, p.score, int32(p.typ)
	}
	t, err := buildSPM(path, pieces, scores, types, m.byteFallback, m.addDummyPrefix, m.removeExtraSpaces, m.escapeWhitespaces)
	if err != nil {
		return nil, err
	}
	if m.bosID >= 0 && m.bosID < int64(len(pieces)) {
		t.bos = int32(m.bosID)
		t.prefix = []int32{t.bos}
	}
	if m.eosID >= 0 && m.eosID < int64(len(pieces)) {
		t.eos = []int32{int32(m.eosID)}
	}
	return t, nil
}

// buildSPM builds a SentencePiece BPE tokenizer from its pieces. Two normal
// pieces merge when their concatenation is a normal piece, ranked by that
// piece's score (higher first); equal scores tie, and then the leftmost pair
// wins, as in SentencePiece's bpe_model.cc. User-defined pieces are matched
// whole before BPE runs (here: as added tokens), so BPE never needs to build
// them.
func buildSPM(path string, pieces []string, scores []float32, types []int32,
	byteFallback, dummyPrefix, removeExtraSpaces, escapeSpaces bool) (*Tokenizer, error) {
	m := &bpeModel{
		vocab:        make(map[string]int32, len(pieces)),
		merges:       map[uint64]uint64{},
		unk:          -1,
		byteFallback: byteFallback,
		fuseUnk:      true,
	}
	var added []addedToken
	for i, p := range pieces {
		if !utf8.ValidString(p) {
			return nil, fieldErr(path, fmt.Sprintf("pieces[%d]", i), "not valid UTF-8")
		}
		if _, dup := m.vocab[p]; dup && types[i] != pieceUnused {
			return nil, fieldErr(path, fmt.Sprintf("pieces[%d]", i), "duplicate piece %q", p)
		}
		if _, dup := m.vocab[p]; !dup {
			m.vocab[p] = int32(i)
		}
		switch types[i] {
		case pieceUnknown:
			if m.unk < 0 {
				m.unk = int32(i)
			}
			added = append(added, addedToken{id: int32(i), content: p, special: true})
		case pieceControl:
			added = append(added, addedToken{id: int32(i), content: p, special: true})
		case pieceUserDefined:
			added = append(added, addedToken{id: int32(i), content: p})
		}
	}
	for b := range m.byteID {
		m.byteID[b] = -1
	}
	for i, p := range pieces {
		if types[i] == pieceByte {
			if b, ok := byteToken(p); ok {
				m.byteID[b] = int32(i)
			}
		}
	}

	// Dense ranks: pieces with equal scores share a rank.
	var order []int32
	for i := range pieces {
		if types[i] == pieceNormal && utf8.RuneCountInString(pieces[i]) > 1 {
			order = append(order, int32(i))
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	rank := uint64(0)
	for k, i := range order {
		if k > 0 && scores[i] != scores[order[k-1]] {
			rank++
		}
		p := pieces[i]
		for j := range p {
			if j == 0 {
				continue
			}
			l, okl := m.vocab[p[:j]]
			r, okr := m.vocab[p[j:]]
			if okl && okr && mergeable(types[l]) && mergeable(types[r]) {
				key := pairKey(l, r)
				if _, seen := m.merges[key]; !seen {
					m.merges[key] = rank<<32 | uint64(uint32(i))
				}
			}
		}
	}

	t := &Tokenizer{source: path, model: m, bos: -1}
	if removeExtraSpaces {
		t.normalizers = append(t.normalizers, spmWhitespaceNorm{})
	}
	if dummyPrefix {
		t.normalizers = append(t.normalizers, prependNorm{"▁"})
	}
	if escapeSpaces {
		t.normalizers = append(t.normalizers, replaceNorm{literal: " ", content: "▁"})
	}
	t.decoders = []decoder{
		{kind: decReplace, replace: replaceNorm{literal: "▁", content: " "}},
		{kind: decByteFallback},
		{kind: decFuse},
	}
	if dummyPrefix {
		t.decoders = append(t.decoders, decoder{kind: decStrip, stripContent: ' ', stripStart: 1})
	}
	t.addAdded(added)
	t.finish()
	return t, nil
}

// mergeable reports whether SentencePiece's BPE can hold a piece of this
// type as a symbol: it merges only into normal pieces, starting from single
// characters, which are normal pieces too.
func mergeable(typ int32) bool { return typ == pieceNormal }
