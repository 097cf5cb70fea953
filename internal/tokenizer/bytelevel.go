package tokenizer

// GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves
// and the other 68 bytes are moved to U+0100 onwards, so every byte has a
// visible one-rune spelling in vocab files.
var (
	byteToRune [256]rune
	// byteToUTF8 holds the UTF-8 spelling of byteToRune, for fast mapping.
	byteToUTF8 [256]string
	// runeToByte is the inverse of byteToRune; -1 marks runes outside the
	// alphabet. The alphabet ends at U+0143.
	runeToByte [0x144]int16
)

func init() {
	for i := range runeToByte {
		runeToByte[i] = -1
	}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = rune(256 + n)
			n++
		}
		byteToRune[b] = r
		byteToUTF8[b] = string(r)
		runeToByte[r] = int16(b)
	}
}

// appendByteLevel appends the byte-level spelling of s.
func appendByteLevel(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, byteToUTF8[s[i]]...)
	}
	return dst
}

// byteLevelDecode turns a byte-level token back into bytes. Like HF, a token
// with any rune outside the alphabet (an added token such as "<|eot_id|>"
// written with ordinary characters is inside it; emoji are not) is kept as
// its own UTF-8 bytes.
func byteLevelDecode(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		if r >= rune(len(runeToByte)) || runeToByte[r] < 0 {
			return append(dst[:start], tok...)
		}
		dst = append(dst, byte(runeToByte[r]))
	}
	return dst
}
