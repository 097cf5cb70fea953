package tokenizer

import (
	"math"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// bpeModel is the BPE step shared by every source format. Symbols are token
// ids; a merge is looked up by the pair of ids it joins. A smaller rank wins,
// and among equal ranks the leftmost pair wins. HF gives every merge its own
// rank, while SentencePiece ranks by the score of the merged piece, so
// SentencePiece vocabularies give equal ranks to equal scores.
type bpeModel struct {
	vocab  map[string]int32
	merges map[uint64]uint64 // pairKey(a, b) -> rank<<32 | merged id

	// runeID caches the ids of one-rune tokens below U+10000, -1 if absent,
	// so building the initial symbols rarely touches the vocab map.
	runeID []int32

	byteFallback bool
	byteID       [256]int32 // "<0xNN>" tokens, -1 if absent
	unk          int32      // -1 when the model has no unknown token
	fuseUnk      bool
	ignoreMerges bool

	// metaChunk: the model has no pre-tokenizer, and no vocab token has "▁"
	// after another character, so no merge can join a symbol ending in a
	// non-"▁" character with one starting with "▁". Splitting before each
	// such "▁" then gives the same merges as running BPE on the whole
	// segment (merges in different chunks never interact), and lets the
	// word cache work for SentencePiece-style models.
	metaChunk bool

	cache wordCache
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

const noMerge = math.MaxUint64

func (m *bpeModel) lookupMerge(a, b int32) uint64 {
	if v, ok := m.merges[pairKey(a, b)]; ok {
		return v
	}
	return noMerge
}

// initRuneIDs fills runeID from the vocab.
func (m *bpeModel) initRuneIDs() {
	m.runeID = make([]int32, 0x10000)
	for i := range m.runeID {
		m.runeID[i] = -1
	}
	for tok, id := range m.vocab {
		r, n := utf8.DecodeRuneInString(tok)
		if n == len(tok) && n > 0 && r < 0x10000 && (r != utf8.RuneError || n == 3) {
			m.runeID[r] = id
		}
	}
}

// encodeState holds per-call scratch space, so that concurrent Encode calls
// share nothing but the word cache.
type encodeState struct {
	buf   []byte
	syms  []int32
	ranks []uint64
	prev  []int32
	next  []int32
	heap  mergeHeap
}

var statePool = sync.Pool{New: func() any { return new(encodeState) }}

// encodeWord appends the ids of one pre-tokenized word.
func (m *bpeModel) encodeWord(st *encodeState, word string, out []int32) []int32 {
	if len(word) == 0 {
		return out
	}
	if m.ignoreMerges {
		if id, ok := m.vocab[word]; ok {
			return append(out, id)
		}
	}
	if m.metaChunk {
		start := 0
		for i := 1; i < len(word); {
			// "▁" is E2 96 81; split before one that follows another rune.
			if word[i] == 0xE2 && i+2 < len(word) && word[i+1] == 0x96 && word[i+2] == 0x81 {
				if !(i >= 3 && word[i-3] == 0xE2 && word[i-2] == 0x96 && word[i-1] == 0x81) {
					out = m.encodeChunk(st, word[start:i], out)
					start = i
				}
				i += 3
				continue
			}
			i++
		}
		return m.encodeChunk(st, word[start:], out)
	}
	return m.encodeChunk(st, word, out)
}

// maxCachedWord bounds the words kept in the cache; longer ones are rare and
// would only evict useful entries.
const maxCachedWord = 128

func (m *bpeModel) encodeChunk(st *encodeState, word string, out []int32) []int32 {
	cacheable := len(word) <= maxCachedWord
	if cacheable {
		if ids, ok := m.cache.get(word, out); ok {
			return ids
		}
	}
	n0 := len(out)
	out = m.merge(st, word, out)
	if cacheable {
		m.cache.put(word, out[n0:])
	}
	return out
}

// initialSymbols splits word into one symbol per rune, falling back to byte
// tokens and then to the unknown token the way HF's BPE does.
func (m *bpeModel) initialSymbols(st *encodeState, word string) []int32 {
	syms := st.syms[:0]
	prevUnk := false
	for i := 0; i < len(word); {
		r, size := rune(word[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(word[i:])
		}
		id := int32(-1)
		if r < 0x10000 && (r != utf8.RuneError || size == 3) {
			id = m.runeID[r]
		} else if v, ok := m.vocab[word[i:i+size]]; ok {
			id = v
		}
		if id >= 0 {
			syms = append(syms, id)
			prevUnk = false
			i += size
			continue
		}
		if m.byteFallback {
			ok := true
			for j := i; j < i+size; j++ {
				if m.byteID[word[j]] < 0 {
					ok = false
					break
				}
			}
			if ok {
				for j := i; j < i+size; j++ {
					syms = append(syms, m.byteID[word[j]])
				}
				prevUnk = false
				i += size
				continue
			}
		}
		if m.unk >= 0 {
			if !(m.fuseUnk && prevUnk) {
				syms = append(syms, m.unk)
			}
			prevUnk = true
		}
		i += size
	}
	st.syms = syms
	return syms
}

// smallWord is the symbol count up to which a quadratic scan beats a heap.
const smallWord = 48

func (m *bpeModel) merge(st *encodeState, word string, out []int32) []int32 {
	syms := m.initialSymbols(st, word)
	if len(syms) <= 1 {
		return append(out, syms...)
	}
	if len(syms) <= smallWord {
		return m.mergeSmall(st, syms, out)
	}
	return m.mergeHeap(st, syms, out)
}

func (m *bpeModel) mergeSmall(st *encodeState, syms []int32, out []int32) []int32 {
	ranks := st.ranks[:0]
	for i := 0; i+1 < len(syms); i++ {
		ranks = append(ranks, m.lookupMerge(syms[i], syms[i+1]))
	}
	for len(syms) > 1 {
		best := 0
		for i := 1; i < len(ranks); i++ {
			if ranks[i]>>32 < ranks[best]>>32 {
				best = i
			}
		}
		r := ranks[best]
		if r == noMerge {
			break
		}
		syms[best] = int32(uint32(r))
		syms = append(syms[:best+1], syms[best+2:]...)
		ranks = append(ranks[:best], ranks[best+1:]...)
		if best > 0 {
			ranks[best-1] = m.lookupMerge(syms[best-1], syms[best])
		}
		if best < len(ranks) {
			ranks[best] = m.lookupMerge(syms[best], syms[best+1])
		}
	}
	st.ranks = ranks
	return append(out, syms...)
}

// mergeEntry is a candidate merge of the symbol at pos with its right
// neighbour; left and right record the ids it was computed for, so that
// entries made stale by later merges can be recognised and dropped.
type mergeEntry struct {
	rank        uint32
	pos         int32
	left, right int32
}

type mergeHeap []mergeEntry

func (h mergeHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h *mergeHeap) push(e mergeEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() mergeEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		c := l
		if r := l + 1; r < len(s) && s.less(r, l) {
			c = r
		}
		if !s.less(c, i) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*h = s
	return top
}

func (m *bpeModel) mergeHeap(st *encodeState, syms []int32, out []int32) []int32 {
	n := len(syms)
	prev := growInt32(st.prev, n)
	next := growInt32(st.next, n)
	for i := range n {
		prev[i] = int32(i - 1)
		next[i] = int32(i + 1)
	}
	next[n-1] = -1
	h := st.heap[:0]
	tryPush := func(i int32) {
		j := next[i]
		if j < 0 {
			return
		}
		if r := m.lookupMerge(syms[i], syms[j]); r != noMerge {
			h.push(mergeEntry{rank: uint32(r >> 32), pos: i, left: syms[i], right: syms[j]})
		}
	}
	for i := range n - 1 {
		tryPush(int32(i))
	}
	for len(h) > 0 {
		e := h.pop()
		i := e.pos
		if syms[i] != e.left { // dead (-1) or already merged into something else
			continue
		}
		j := next[i]
		if j < 0 || syms[j] != e.right {
			continue
		}
		r := m.lookupMerge(e.left, e.right)
		syms[i] = int32(uint32(r))
		syms[j] = -1
		k := next[j]
		next[i] = k
		if k >= 0 {
			prev[k] = i
		}
		if p := prev[i]; p >= 0 {
			tryPush(p)
		}
		tryPush(i)
	}
	st.heap = h
	st.prev, st.next = prev, next
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

// unsafeString views b as a string without copying. The string must not be
// kept after b changes.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func growInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// wordCache maps words to their ids. Encode is safe for concurrent use, so
// the cache is shared under a lock; the ids live in one arena to keep the
// garbage collector's work small.
type wordCache struct {
	mu    sync.RWMutex
	index map[string]uint64 // word -> offset<<32 | count
	arena []int32
}

// The cache is dropped and restarted when it grows past these sizes, which a
// 1 MB English text does not reach.
const (
	maxCacheWords = 1 << 18
	maxCacheIDs   = 1 << 22
)

func (c *wordCache) get(word string, out []int32) ([]int32, bool) {
	c.mu.RLock()
	v, ok := c.index[word]
	if ok {
		off, n := v>>32, uint32(v)
		out = append(out, c.arena[off:off+uint64(n)]...)
	}
	c.mu.RUnlock()
	return out, ok
}

func (c *wordCache) reset() {
	c.mu.Lock()
	c.index = nil
	c.arena = c.arena[:0]
	c.mu.Unlock()
}

func (c *wordCache) put(word string, ids []int32) {
	c.mu.Lock()
	if c.index == nil || len(c.index) >= maxCacheWords || len(c.arena)+len(ids) > maxCacheIDs {
		c.index = make(map[string]uint64, 1024)
		c.arena = c.arena[:0]
	}
	if _, ok := c.index[word]; !ok {
		// word may alias the caller's scratch buffer.
		c.index[strings.Clone(word)] = uint64(len(c.arena))<<32 | uint64(len(ids))
		c.arena = append(c.arena, ids...)
	}
	c.mu.Unlock()
}
