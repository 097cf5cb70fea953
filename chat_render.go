package bitnet

import (
	"github.com/bitnet-go/bitnet/internal/chattemplate"
	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// renderChat renders a conversation with the model's chat template (or the
// 2B-4T form when it ships none), as transformers' apply_chat_template does
// with add_generation_prompt.
func renderChat(tok *tokenizer.Tokenizer, msgs []Message) (string, error) {
	return renderChatWith(tok, msgs, true)
}

func renderChatWith(tok *tokenizer.Tokenizer, msgs []Message, addGen bool) (string, error) {
	if err := validateMessages(msgs); err != nil {
		return "", err
	}
	t, err := chattemplate.Compile("chat template of "+tok.Source(), tok.ChatTemplate())
	if err != nil {
		return "", err
	}
	cm := make([]chattemplate.Message, len(msgs))
	for i, m := range msgs {
		cm[i] = chattemplate.Message{Role: m.Role, Content: m.Content}
	}
	return t.Render(cm, chattemplate.Options{AddGenerationPrompt: addGen, BOSToken: tok.BOSToken(), EOSToken: tok.EOSToken()})
}
