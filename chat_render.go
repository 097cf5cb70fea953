package bitnet

import (
	"fmt"

	"github.com/ardanlabs/jinja"

	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// defaultChatTemplate is the microsoft/bitnet-b1.58-2B-4T form, used when a
// model ships no template.
const defaultChatTemplate = "{% for message in messages %}{{ message['role'] | capitalize + ': ' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"

func renderChat(tok *tokenizer.Tokenizer, msgs []Message) (string, error) {
	if err := validateMessages(msgs); err != nil {
		return "", err
	}
	src := tok.ChatTemplate()
	name := "the model's chat template"
	if src == "" {
		src, name = defaultChatTemplate, "the default chat template"
	}
	t, err := jinja.Compile(src)
	if err != nil {
		return "", fmt.Errorf("%s does not compile: %w", name, err)
	}
	list := make([]any, len(msgs))
	for i, m := range msgs {
		list[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	var bos, eos string
	if id := tok.BOS(); id >= 0 {
		bos = tok.TokenString(id)
	}
	if e := tok.EOS(); len(e) > 0 {
		eos = tok.TokenString(e[0])
	}
	out, err := t.Render(map[string]any{"messages": list, "add_generation_prompt": true, "bos_token": bos, "eos_token": eos})
	if err != nil {
		return "", fmt.Errorf("rendering %s: %w", name, err)
	}
	return out, nil
}
