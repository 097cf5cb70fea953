package chattemplate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// filterPrefix renames the filters this package replaces. ardanlabs/jinja
// looks up a filter it does not know among the template variables, which is
// how the replacements are passed in.
const filterPrefix = "__bitnet_py_"

var pyFilters = map[string]func([]jinja.Value, map[string]jinja.Value) (jinja.Value, error){
	"tojson":     filterToJSON,
	"trim":       filterTrim,
	"capitalize": filterCapitalize,
}

// rewriteFilters renames "| tojson", "| trim" and "| capitalize" inside
// {{ }} and {% %} tags to the replacements. It leaves text, comments, string
// literals and {% raw %} blocks alone, and finds the end of a tag the way
// Jinja2's lexer does: outside strings and brackets.
func rewriteFilters(src string) string {
	var b strings.Builder
	i := 0
	for i < len(src) {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			b.WriteString(src[i:])
			break
		}
		j += i
		b.WriteString(src[i:j])
		switch src[j+1] {
		case '#':
			end := strings.Index(src[j+2:], "#}")
			if end < 0 {
				b.WriteString(src[j:])
				return b.String()
			}
			end += j + 4
			b.WriteString(src[j:end])
			i = end
		case '{', '%':
			closer := byte('}')
			if src[j+1] == '%' {
				closer = '%'
			}
			body, end := tagBody(src, j+2, closer)
			if closer == '%' && tagKeyword(body) == "raw" {
				// Copy up to and including {% endraw %} unchanged.
				k := findEndRaw(src, end)
				b.WriteString(src[j:k])
				i = k
				continue
			}
			b.WriteString(src[j : j+2])
			b.WriteString(renameFilters(body))
			b.WriteString(src[j+2+len(body) : end])
			i = end
		default:
			b.WriteByte('{')
			i = j + 1
		}
	}
	return b.String()
}

// tagBody returns the text of the tag starting at i and the offset just
// after its closing delimiter (closer followed by '}').
func tagBody(src string, i int, closer byte) (string, int) {
	depth := 0
	var quote byte
	for k := i; k < len(src); k++ {
		c := src[k]
		switch {
		case quote != 0:
			if c == '\\' {
				k++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case depth == 0 && c == closer && k+1 < len(src) && src[k+1] == '}':
			return src[i:k], k + 2
		case c == '(' || c == '[' || c == '{':
			depth++
		case (c == ')' || c == ']' || c == '}') && depth > 0:
			depth--
		}
	}
	return src[i:], len(src)
}

func tagKeyword(body string) string {
	body = strings.TrimLeft(body, "-+ \t\r\n")
	end := strings.IndexFunc(body, func(r rune) bool { return !isIdent(r) })
	if end < 0 {
		return body
	}
	return body[:end]
}

func findEndRaw(src string, i int) int {
	for {
		j := strings.Index(src[i:], "{%")
		if j < 0 {
			return len(src)
		}
		body, end := tagBody(src, i+j+2, '%')
		if tagKeyword(body) == "endraw" {
			return end
		}
		i = end
	}
}

func isIdent(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// renameFilters rewrites the filter names after "|" in one tag body, and
// the escapes in its string literals.
func renameFilters(body string) string {
	var b strings.Builder
	var quote byte
	for k := 0; k < len(body); k++ {
		c := body[k]
		if quote != 0 {
			switch {
			case c == '\\' && k+1 < len(body):
				k += writeEscape(&b, body[k:], quote) - 1
			case c == quote:
				quote = 0
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
			continue
		}
		b.WriteByte(c)
		switch c {
		case '\'', '"':
			quote = c
		case '|':
			s := k + 1
			for s < len(body) && (body[s] == ' ' || body[s] == '\t' || body[s] == '\n' || body[s] == '\r') {
				s++
			}
			e := s
			for e < len(body) && isIdent(rune(body[e])) {
				e++
			}
			if _, ok := pyFilters[body[s:e]]; ok {
				b.WriteString(body[k+1 : s])
				b.WriteString(filterPrefix)
				b.WriteString(body[s:e])
				k = e - 1
			}
		}
	}
	return b.String()
}

// simpleEscapes are the one-character escapes of Python's unicode-escape
// codec; a backslash before a newline continues the line (-1).
var simpleEscapes = map[byte]rune{
	'a': 7, 'b': 8, 'f': 12, 'v': 11, 'r': '\r', 'n': '\n', 't': '\t',
	'\\': '\\', '\'': '\'', '"': '"', '\n': -1,
}

// writeEscape handles the backslash escape at the start of s inside a
// string literal quoted with quote, and returns its length. Jinja2 decodes
// literals with Python's unicode-escape codec; ardanlabs/jinja knows only
// \n, \t, \\, \' and \", so other escapes are written out as the character
// itself (or as one of those five escapes). Unknown escapes stay as they are,
// as in Python.
func writeEscape(b *strings.Builder, s string, quote byte) int {
	emit := func(r rune) {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\\':
			b.WriteString(`\\`)
		case rune(quote):
			b.WriteByte('\\')
			b.WriteByte(quote)
		default:
			b.WriteRune(r)
		}
	}
	hex := func(n int) int {
		if len(s) < 2+n {
			return -1
		}
		v, err := strconv.ParseUint(s[2:2+n], 16, 32)
		if err != nil || v > unicode.MaxRune {
			return -1
		}
		emit(rune(v))
		return 2 + n
	}
	switch c := s[1]; {
	case c == 'x':
		if n := hex(2); n > 0 {
			return n
		}
	case c == 'u':
		if n := hex(4); n > 0 {
			return n
		}
	case c == 'U':
		if n := hex(8); n > 0 {
			return n
		}
	case c >= '0' && c <= '7':
		n, v := 1, rune(0)
		for n < 4 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + rune(s[n]-'0')
			n++
		}
		emit(v)
		return n
	default:
		if r, ok := simpleEscapes[c]; ok {
			if r >= 0 {
				emit(r)
			}
			return 2
		}
	}
	b.WriteString(s[:2])
	return 2
}

// pyStr is Python's str() of a template value, as Jinja2 filters apply it.
func pyStr(v jinja.Value) string {
	switch {
	case v.IsUndefined():
		return ""
	case v.IsString():
		return v.AsString()
	case v.IsNone():
		return "None"
	case v.IsBool():
		if v.AsBool() {
			return "True"
		}
		return "False"
	case v.IsInt():
		return strconv.FormatInt(v.AsInt(), 10)
	case v.IsFloat():
		return pyFloat(v.AsFloat())
	}
	return v.String()
}

// pyFloat is Python's repr of a float: the shortest digits that round-trip,
// in positional notation when the exponent is in [-4, 16), with ".0" on
// integral values.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // "-d.ddde±XX"
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	point := exp + 1 // digits before the decimal point
	switch {
	case point <= 0:
		return sign + "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		return sign + digits + strings.Repeat("0", point-len(digits)) + ".0"
	}
	return sign + digits[:point] + "." + digits[point:]
}

// isPySpace is Python's str.isspace for one character.
func isPySpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, ' ', 0x85, 0xA0, 0x1680,
		0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// filterTrim is Jinja2's trim: Python's str.strip(chars).
func filterTrim(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewString(""), nil
	}
	s := pyStr(args[0])
	chars, ok := kwargs["chars"]
	if len(args) > 1 {
		chars, ok = args[1], true
	}
	if ok && !chars.IsNone() && !chars.IsUndefined() {
		return jinja.NewString(strings.Trim(s, pyStr(chars))), nil
	}
	return jinja.NewString(strings.TrimFunc(s, isPySpace)), nil
}

// titleSpecial holds the full title-case mappings (SpecialCasing.txt) that
// are not one character.
var titleSpecial = map[rune]string{
	'ß': "Ss", 'ŉ': "ʼN", 'ǰ': "J̌", 'ẖ': "H̱", 'ẗ': "T̈", 'ẘ': "W̊", 'ẙ': "Y̊", 'ẚ': "Aʾ",
	'ﬀ': "Ff", 'ﬁ': "Fi", 'ﬂ': "Fl", 'ﬃ': "Ffi", 'ﬄ': "Ffl", 'ﬅ': "St", 'ﬆ': "St",
	'և': "Եւ", 'ﬓ': "Մն", 'ﬔ': "Մե", 'ﬕ': "Մի", 'ﬖ': "Վն", 'ﬗ': "Մխ",
}

// filterCapitalize is Jinja2's capitalize: Python's str.capitalize, which
// title-cases the first character and lower-cases the rest with the full
// Unicode mappings (final sigma included).
func filterCapitalize(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewString(""), nil
	}
	return jinja.NewString(pyCapitalize(pyStr(args[0]))), nil
}

func pyCapitalize(s string) string {
	if s == "" {
		return s
	}
	runes := []rune(s)
	var b strings.Builder
	if t, ok := titleSpecial[runes[0]]; ok {
		b.WriteString(t)
	} else {
		b.WriteRune(unicode.ToTitle(runes[0]))
	}
	for i := 1; i < len(runes); i++ {
		r := runes[i]
		switch {
		case r == 'İ':
			b.WriteString("i\u0307")
		case r == 'Σ':
			if finalSigma(runes, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
}

func isCaseIgnorable(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) ||
		r == '\'' || r == '.' || r == ':' || r == 0xB7 || r == 0x2019
}

// finalSigma is Unicode's Final_Sigma condition for runes[i].
func finalSigma(runes []rune, i int) bool {
	before := false
	for j := i - 1; j >= 0; j-- {
		if isCaseIgnorable(runes[j]) {
			continue
		}
		before = isCased(runes[j])
		break
	}
	if !before {
		return false
	}
	for j := i + 1; j < len(runes); j++ {
		if isCaseIgnorable(runes[j]) {
			continue
		}
		return !isCased(runes[j])
	}
	return true
}

// filterToJSON is transformers' tojson: json.dumps(value,
// ensure_ascii=False, indent=indent, separators=separators,
// sort_keys=sort_keys), with dicts in insertion order.
func filterToJSON(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("tojson: no value")
	}
	e := jsonEncoder{item: ", ", key: ": "}
	if v, ok := kwargs["indent"]; ok && !v.IsNone() && !v.IsUndefined() {
		switch {
		case v.IsInt():
			e.indent, e.useIndent = strings.Repeat(" ", int(max(0, min(v.AsInt(), 64)))), true
		case v.IsString():
			e.indent, e.useIndent = v.AsString(), true
		default:
			return jinja.Undefined(), fmt.Errorf("tojson: indent must be an int or a string")
		}
		e.item = ","
	}
	if v, ok := kwargs["separators"]; ok && !v.IsNone() && !v.IsUndefined() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Get(0).IsString() || !v.AsList().Get(1).IsString() {
			return jinja.Undefined(), fmt.Errorf("tojson: separators must be two strings")
		}
		e.item, e.key = v.AsList().Get(0).AsString(), v.AsList().Get(1).AsString()
	}
	if v, ok := kwargs["sort_keys"]; ok {
		e.sortKeys = v.IsTruthy()
	}
	if v, ok := kwargs["ensure_ascii"]; ok {
		e.ascii = v.IsTruthy()
	}
	if err := e.value(args[0], 0); err != nil {
		return jinja.Undefined(), fmt.Errorf("tojson: %w", err)
	}
	return jinja.NewString(e.b.String()), nil
}

type jsonEncoder struct {
	b         strings.Builder
	item, key string
	indent    string
	useIndent bool
	sortKeys  bool
	ascii     bool
}

func (e *jsonEncoder) newline(level int) {
	if e.useIndent {
		e.b.WriteByte('\n')
		for range level {
			e.b.WriteString(e.indent)
		}
	}
}

func (e *jsonEncoder) value(v jinja.Value, level int) error {
	switch {
	case v.IsNone():
		e.b.WriteString("null")
	case v.IsBool():
		if v.AsBool() {
			e.b.WriteString("true")
		} else {
			e.b.WriteString("false")
		}
	case v.IsInt():
		e.b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		f := v.AsFloat()
		switch {
		case math.IsNaN(f):
			e.b.WriteString("NaN")
		case math.IsInf(f, 1):
			e.b.WriteString("Infinity")
		case math.IsInf(f, -1):
			e.b.WriteString("-Infinity")
		default:
			e.b.WriteString(pyFloat(f))
		}
	case v.IsString():
		e.string(v.AsString())
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			e.b.WriteString("[]")
			return nil
		}
		e.b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				e.b.WriteString(e.item)
			}
			e.newline(level + 1)
			if err := e.value(it, level+1); err != nil {
				return err
			}
		}
		e.newline(level)
		e.b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		keys := d.OrderedKeys()
		if len(keys) == 0 {
			e.b.WriteString("{}")
			return nil
		}
		if e.sortKeys {
			slices.Sort(keys)
		}
		e.b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				e.b.WriteString(e.item)
			}
			e.newline(level + 1)
			e.string(k)
			e.b.WriteString(e.key)
			val, _ := d.Get(k)
			if err := e.value(val, level+1); err != nil {
				return err
			}
		}
		e.newline(level)
		e.b.WriteByte('}')
	case v.IsUndefined():
		//lint:ignore ST1005 the message is Python's, word for word
		return fmt.Errorf("Object of type Undefined is not JSON serializable")
	default:
		//lint:ignore ST1005 the message is Python's, word for word
		return fmt.Errorf("Object of type %s is not JSON serializable", v.String())
	}
	return nil
}

// string writes a JSON string as Python's json module does.
func (e *jsonEncoder) string(s string) {
	e.b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '"':
			e.b.WriteString(`\"`)
		case r == '\\':
			e.b.WriteString(`\\`)
		case r == '\n':
			e.b.WriteString(`\n`)
		case r == '\r':
			e.b.WriteString(`\r`)
		case r == '\t':
			e.b.WriteString(`\t`)
		case r == '\b':
			e.b.WriteString(`\b`)
		case r == '\f':
			e.b.WriteString(`\f`)
		case r < 0x20 || e.ascii && r > 0x7e:
			if r > 0xFFFF {
				r -= 0x10000
				fmt.Fprintf(&e.b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			} else {
				fmt.Fprintf(&e.b, `\u%04x`, r)
			}
		default:
			e.b.WriteRune(r)
		}
	}
	e.b.WriteByte('"')
}

var (
	weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// strftime is Python's datetime.now().strftime(format) on glibc, for a
// naive local time (so %z and %Z are empty). glibc's "-" (no padding) and
// "_" (space padding) flags are supported; unknown directives are copied.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		start := i
		i++
		pad := byte(0) // 0: directive default, '-': none, '_': spaces
		if format[i] == '-' || format[i] == '_' || format[i] == '0' {
			pad = format[i]
			if i+1 >= len(format) {
				b.WriteString(format[start:])
				break
			}
			i++
		}
		num := func(v, width int, def byte) {
			p := def
			if pad != 0 {
				p = pad
			}
			s := strconv.Itoa(v)
			switch p {
			case '-':
			case '_':
				s = strings.Repeat(" ", max(0, width-len(s))) + s
			default:
				s = strings.Repeat("0", max(0, width-len(s))) + s
			}
			b.WriteString(s)
		}
		hour12 := t.Hour() % 12
		if hour12 == 0 {
			hour12 = 12
		}
		switch format[i] {
		case 'a':
			b.WriteString(weekdays[t.Weekday()][:3])
		case 'A':
			b.WriteString(weekdays[t.Weekday()])
		case 'b', 'h':
			b.WriteString(months[t.Month()-1][:3])
		case 'B':
			b.WriteString(months[t.Month()-1])
		case 'd':
			num(t.Day(), 2, '0')
		case 'e':
			num(t.Day(), 2, '_')
		case 'm':
			num(int(t.Month()), 2, '0')
		case 'y':
			num(t.Year()%100, 2, '0')
		case 'Y':
			num(t.Year(), 1, '0')
		case 'H':
			num(t.Hour(), 2, '0')
		case 'I':
			num(hour12, 2, '0')
		case 'M':
			num(t.Minute(), 2, '0')
		case 'S':
			num(t.Second(), 2, '0')
		case 'f':
			num(t.Nanosecond()/1000, 6, '0')
		case 'j':
			num(t.YearDay(), 3, '0')
		case 'w':
			num(int(t.Weekday()), 1, '0')
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'z', 'Z':
		case 'D', 'x':
			b.WriteString(strftime("%m/%d/%y", t))
		case 'F':
			b.WriteString(strftime("%Y-%m-%d", t))
		case 'T', 'X':
			b.WriteString(strftime("%H:%M:%S", t))
		case 'R':
			b.WriteString(strftime("%H:%M", t))
		case 'c':
			b.WriteString(strftime("%a %b %e %H:%M:%S %Y", t))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			b.WriteString(format[start : i+1])
		}
	}
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
