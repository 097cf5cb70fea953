package hub

import (
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// inferenceFiles are the small files a checkpoint folder needs besides its
// weights: model shape, sampling defaults and the tokenizer in either format.
var inferenceFiles = map[string]bool{
	"config.json":                  true,
	"generation_config.json":       true,
	"tokenizer.json":               true,
	"tokenizer_config.json":        true,
	"special_tokens_map.json":      true,
	"tokenizer.model":              true,
	"model.safetensors.index.json": true,
}

type glob struct {
	pat string
	re  *regexp.Regexp
}

// compileGlobs turns fnmatch-style patterns into regexps. fnmatch, not
// path.Match, because huggingface_hub's allow_patterns use it and users copy
// patterns from `hf download --include`: '*' matches '/' too, and a pattern
// ending in '/' means everything below that folder.
func compileGlobs(pats []string) ([]glob, error) {
	var out []glob
	for _, pat := range pats {
		if pat == "" {
			return nil, fmt.Errorf("empty --include pattern")
		}
		p := pat
		if strings.HasSuffix(p, "/") {
			p += "*"
		}
		var b strings.Builder
		b.WriteString(`(?s)^`)
		rs := []rune(p)
		for i := 0; i < len(rs); i++ {
			switch r := rs[i]; r {
			case '*':
				b.WriteString(`.*`)
			case '?':
				b.WriteString(`.`)
			case '[':
				j := i + 1
				if j < len(rs) && (rs[j] == '!' || rs[j] == '^') {
					j++
				}
				if j < len(rs) && rs[j] == ']' {
					j++
				}
				for j < len(rs) && rs[j] != ']' {
					j++
				}
				if j >= len(rs) { // no closing bracket: a literal '[', as in fnmatch
					b.WriteString(`\[`)
					continue
				}
				class := rs[i+1 : j]
				b.WriteByte('[')
				if len(class) > 0 && class[0] == '!' {
					b.WriteByte('^')
					class = class[1:]
				}
				for _, cr := range class {
					if cr == '\\' || cr == '[' {
						b.WriteByte('\\')
					}
					b.WriteRune(cr)
				}
				b.WriteByte(']')
				i = j
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		b.WriteString(`$`)
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, fmt.Errorf("invalid --include pattern %q: %v", pat, err)
		}
		out = append(out, glob{pat: pat, re: re})
	}
	return out, nil
}

// selectFiles picks what to download. With globs: every file matching one,
// and each glob must match something (a typo should not pass silently).
// Without: the inference files plus all top-level safetensors, or, for a
// GGUF-only repository, a single GGUF (see chooseGGUF).
func selectFiles(ref Ref, sibs []sibling, globs []glob) ([]sibling, error) {
	var out []sibling
	seen := map[string]bool{}
	add := func(s sibling) {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	if len(globs) > 0 {
		for _, g := range globs {
			matched := false
			for _, s := range sibs {
				if g.re.MatchString(s.Name) {
					add(s)
					matched = true
				}
			}
			if !matched {
				return nil, newError(ErrNotFound, "no file in %s matches --include %q", ref, g.pat)
			}
		}
	} else {
		var safetensors, ggufs []sibling
		for _, s := range sibs {
			// Only top-level files: subfolders hold other formats
			// ("original/"), not the checkpoint this engine loads.
			if strings.Contains(s.Name, "/") {
				continue
			}
			switch {
			case inferenceFiles[s.Name]:
				add(s)
			case strings.HasSuffix(s.Name, ".safetensors"):
				safetensors = append(safetensors, s)
			case strings.HasSuffix(strings.ToLower(s.Name), ".gguf"):
				ggufs = append(ggufs, s)
			}
		}
		switch {
		case len(safetensors) > 0:
			for _, s := range safetensors {
				add(s)
			}
		case len(ggufs) > 0:
			add(chooseGGUF(ggufs))
		default:
			return nil, newError(ErrNotFound, "%s has no .safetensors or .gguf weights; use --include to download other files", ref)
		}
	}
	for _, s := range out {
		if err := validRelPath(s.Name); err != nil {
			return nil, err
		}
	}
	// Small files first: a gated repository or a full disk then fails in a
	// second, not after the first multi-gigabyte shard.
	slices.SortStableFunc(out, func(a, b sibling) int {
		return cmp.Compare(isWeights(a.Name), isWeights(b.Name))
	})
	return out, nil
}

func isWeights(name string) int {
	ext := strings.ToLower(path.Ext(name))
	if ext == ".safetensors" || ext == ".gguf" {
		return 1
	}
	return 0
}

// chooseGGUF prefers the I2_S quantisation (the format BitNet kernels run
// natively), then the smallest file; files of unknown size come last and
// names break ties so the choice is stable.
func chooseGGUF(ggufs []sibling) sibling {
	rank := func(s sibling) int {
		if strings.Contains(strings.ToLower(s.Name), "i2_s") {
			return 0
		}
		return 1
	}
	return slices.MinFunc(ggufs, func(a, b sibling) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		as, bs := a.size(), b.size()
		if (as < 0) != (bs < 0) {
			if as < 0 {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(as, bs); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
