package chattemplate

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet/internal/tokenizer"
	"github.com/google/go-cmp/cmp"
)

// goldenNow is the clock testdata/golden.py renders with.
var goldenNow = time.Date(2024, 7, 6, 9, 5, 3, 123456000, time.Local)

type goldenCase struct {
	Template            string                     `json:"template"`
	Source              string                     `json:"source"`
	Messages            []Message                  `json:"messages"`
	AddGenerationPrompt bool                       `json:"add_generation_prompt"`
	BOS                 string                     `json:"bos_token"`
	EOS                 string                     `json:"eos_token"`
	Vars                map[string]json.RawMessage `json:"vars"`
	Want                *string                    `json:"want"`
	Error               string                     `json:"error"`
}

func readLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatalf("%s: empty", path)
	}
	return out
}

// TestGolden replays templates rendered by Python Jinja2 with transformers'
// settings (testdata/golden.py).
func TestGolden(t *testing.T) {
	for i, c := range readLines[goldenCase](t, "testdata/golden.jsonl") {
		tmpl, err := Compile(c.Template, c.Source)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		vars := map[string]any{}
		for k, v := range c.Vars {
			vars[k] = v
		}
		got, err := tmpl.Render(c.Messages, Options{
			AddGenerationPrompt: c.AddGenerationPrompt, BOSToken: c.BOS, EOSToken: c.EOS,
			Vars: vars, Now: func() time.Time { return goldenNow },
		})
		if c.Want == nil {
			if err == nil || !strings.Contains(err.Error(), c.Error) || !strings.Contains(err.Error(), c.Template) {
				t.Errorf("line %d (%s): error %v, want one naming the template and saying %q", i+1, c.Template, err, c.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("line %d (%s): %v", i+1, c.Template, err)
			continue
		}
		if diff := cmp.Diff(*c.Want, got); diff != "" {
			t.Errorf("line %d (%s, add_generation_prompt=%v) (-python +go):\n%s", i+1, c.Template, c.AddGenerationPrompt, diff)
		}
	}
}

type chatCase struct {
	Messages            []Message `json:"messages"`
	AddGenerationPrompt bool      `json:"add_generation_prompt"`
	HFRendered          string    `json:"hf_rendered"`
	HFIDs               []int32   `json:"hf_ids"`
}

// TestBitNetChat renders the 2B-4T template from its tokenizer_config.json
// and checks the prompt and ids against transformers.js (chat.jsonl).
func TestBitNetChat(t *testing.T) {
	_, err := tokenizer.Load("../../testdata/tokenizer/llama3/tokenizer_config.json")
	if err == nil {
		t.Fatal("loading a config as a tokenizer succeeded")
	}
	dir := t.TempDir()
	// The 9 MB tokenizer.json is stored gzipped; the template and ids only
	// need the folder's configs and the tokenizer, which tokenizer's own
	// tests unpack the same way.
	tok := loadLlama3(t, dir)
	tmpl, err := Compile("llama3 tokenizer_config.json", tok.ChatTemplate())
	if err != nil {
		t.Fatal(err)
	}
	if tok.ChatTemplate() != Fallback {
		t.Errorf("Fallback differs from the 2B-4T template:\n%s\n%s", Fallback, tok.ChatTemplate())
	}
	for i, c := range readLines[chatCase](t, "../../testdata/tokenizer/llama3/chat.jsonl") {
		got, err := tmpl.Render(c.Messages, Options{AddGenerationPrompt: c.AddGenerationPrompt, BOSToken: "<|begin_of_text|>", EOSToken: "<|eot_id|>"})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.HFRendered {
			t.Errorf("chat %d: rendered %q, want %q", i+1, got, c.HFRendered)
		}
		if diff := cmp.Diff(c.HFIDs, tok.Encode(got, tokenizer.EncodeOptions{})); diff != "" {
			t.Errorf("chat %d: ids (-want +got):\n%s", i+1, diff)
		}
	}
}

func TestFallback(t *testing.T) {
	tmpl, err := Compile("", "")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name() != FallbackName {
		t.Errorf("Name = %q", tmpl.Name())
	}
	got, err := tmpl.Render([]Message{{"system", "Be nice."}, {"user", " Hi "}}, Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "System: Be nice.<|eot_id|>User: Hi<|eot_id|>Assistant: "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Compile("broken.jinja", "{% for x in %}"); err == nil || !strings.Contains(err.Error(), `"broken.jinja"`) {
		t.Errorf("compile error %v does not name the template", err)
	}
	tmpl, err := Compile("strict.jinja", "{% if messages|length == 0 %}{{ raise_exception('need a message') }}{% endif %}ok")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmpl.Render(nil, Options{})
	var e *Error
	if !errors.As(err, &e) || e.Template != "strict.jinja" || e.Op != "render" || !strings.Contains(err.Error(), "need a message") {
		t.Errorf("render error = %v", err)
	}
	if _, err := tmpl.Render(nil, Options{Vars: map[string]any{"x": make(chan int)}}); err == nil {
		t.Error("a channel variable was accepted")
	}
	tj, _ := Compile("tojson.jinja", "{{ nothing|tojson }}")
	if _, err := tj.Render(nil, Options{}); err == nil || !strings.Contains(err.Error(), "not JSON serializable") {
		t.Errorf("tojson of undefined: %v", err)
	}
}

func TestRewriteFilters(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a|trim {{ x|trim }}", "a|trim {{ x|" + filterPrefix + "trim }}"},
		{"{{ 'a|trim' ~ x | tojson(indent=2) }}", "{{ 'a|trim' ~ x | " + filterPrefix + "tojson(indent=2) }}"},
		{"{% raw %}{{ x|trim }}{% endraw %}{{ y|capitalize|upper }}", "{% raw %}{{ x|trim }}{% endraw %}{{ y|" + filterPrefix + "capitalize|upper }}"},
		{"{# x|trim #}{{ {'a': 1}|tojson }}|trim", "{# x|trim #}{{ {'a': 1}|" + filterPrefix + "tojson }}|trim"},
		{"{% filter trim %} x {% endfilter %}{{ x|trimmed }}", "{% filter trim %} x {% endfilter %}{{ x|trimmed }}"},
		{"{{ unterminated|trim", "{{ unterminated|" + filterPrefix + "trim"},
	} {
		if got := rewriteFilters(c.in); got != c.want {
			t.Errorf("rewriteFilters(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 2.5: "2.5", 1e16: "1e+16", 1e15: "1000000000000000.0", 1e-5: "1e-05", 0.0001: "0.0001",
		0.1: "0.1", -3: "-3.0", 123456789.125: "123456789.125", 1.5e-7: "1.5e-07", 1e22: "1e+22",
	} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func FuzzRender(f *testing.F) {
	f.Add(Fallback, "hello")
	f.Add("{{ messages|tojson(indent=2) }}{{ x|trim('a') }}", "ΣΑΣ")
	f.Add("{% for m in messages %}{{ m.content|capitalize }}{% endfor %}{{ strftime_now('%-d %Q') }}", " x ")
	f.Fuzz(func(t *testing.T, src, content string) {
		tmpl, err := Compile("fuzz", src)
		if err != nil {
			return
		}
		tmpl.Render([]Message{{"user", content}}, Options{AddGenerationPrompt: true, Vars: map[string]any{"x": content}})
	})
}
