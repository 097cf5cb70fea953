package tokenizer

import "unicode/utf8"

// utf8Seq describes the first byte of a multi-byte UTF-8 sequence: its total
// length and the range allowed for the second byte (the ranges that exclude
// overlong forms, surrogates and code points above U+10FFFF).
type utf8Seq struct {
	n      int
	lo, hi byte
}

func leadInfo(b byte) (utf8Seq, bool) {
	switch {
	case b >= 0xC2 && b <= 0xDF:
		return utf8Seq{2, 0x80, 0xBF}, true
	case b == 0xE0:
		return utf8Seq{3, 0xA0, 0xBF}, true
	case b == 0xED:
		return utf8Seq{3, 0x80, 0x9F}, true
	case b >= 0xE1 && b <= 0xEF:
		return utf8Seq{3, 0x80, 0xBF}, true
	case b == 0xF0:
		return utf8Seq{4, 0x90, 0xBF}, true
	case b >= 0xF1 && b <= 0xF3:
		return utf8Seq{4, 0x80, 0xBF}, true
	case b == 0xF4:
		return utf8Seq{4, 0x80, 0x8F}, true
	}
	return utf8Seq{}, false
}

// maximalSubpart returns how many bytes of p (which must not start with a
// valid character) form one maximal ill-formed subsequence, and whether that
// subsequence is a truncated but so far valid character that ends p.
func maximalSubpart(p []byte) (n int, truncated bool) {
	info, ok := leadInfo(p[0])
	if !ok {
		return 1, false
	}
	n = 1
	for n < info.n {
		if n >= len(p) {
			return n, true
		}
		c := p[n]
		lo, hi := byte(0x80), byte(0xBF)
		if n == 1 {
			lo, hi = info.lo, info.hi
		}
		if c < lo || c > hi {
			return n, false
		}
		n++
	}
	// A complete sequence is valid and never reaches here; callers only ask
	// about positions where utf8.DecodeRune failed.
	return n, false
}

// appendLossy appends p to dst, replacing every maximal ill-formed
// subsequence by one U+FFFD. This is what Rust's String::from_utf8_lossy,
// Python's bytes.decode(errors="replace") and WHATWG TextDecoder do, so both
// Encode (Python cannot hold invalid UTF-8 in a str) and Decode follow HF.
func appendLossy(dst, p []byte) []byte {
	for len(p) > 0 {
		if p[0] < utf8.RuneSelf {
			dst = append(dst, p[0])
			p = p[1:]
			continue
		}
		r, size := utf8.DecodeRune(p)
		if r != utf8.RuneError || size > 1 {
			dst = append(dst, p[:size]...)
			p = p[size:]
			continue
		}
		n, _ := maximalSubpart(p)
		dst = append(dst, "\uFFFD"...)
		p = p[n:]
	}
	return dst
}

// validString returns s unchanged when it is valid UTF-8, else its lossy
// conversion.
func validString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendLossy(nil, []byte(s)))
}

// incompleteTail reports how many trailing bytes of p are the start of a
// character that more bytes could still complete.
func incompleteTail(p []byte) int {
	// A truncated character is at most 3 bytes long.
	for k := 1; k <= 3 && k <= len(p); k++ {
		i := len(p) - k
		if p[i] < 0xC0 {
			continue
		}
		if _, ok := leadInfo(p[i]); !ok {
			return 0
		}
		n, truncated := maximalSubpart(p[i:])
		if truncated && n == k {
			return k
		}
		return 0
	}
	return 0
}
