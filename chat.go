package bitnet

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"` // "system", "user" or "assistant"
	Content string `json:"content"`
}

// Chat streams the assistant's reply to a conversation, rendered with the
// model's chat template (or a default one when the model ships none).
// With o.Session set, a conversation that extends the previous call's only
// computes its new tokens.
func (m *Model) Chat(ctx context.Context, msgs []Message, o GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		err := m.use(func(st *state) error {
			ids, err := chatIDs(st, msgs)
			if err != nil {
				return err
			}
			m.stream(ctx, st, ids, o, yield)
			return nil
		})
		if err != nil {
			yield(Token{}, err)
		}
	}
}

// ChatPrompt returns the rendered prompt and its ids.
func (m *Model) ChatPrompt(msgs []Message) (string, []int32, error) {
	var text string
	var ids []int32
	err := m.use(func(st *state) error {
		var err error
		if st.tok == nil {
			return errNoTokenizer
		}
		if text, err = renderChat(st.tok, msgs); err != nil {
			return err
		}
		ids = encodeChat(st.tok, text)
		return nil
	})
	return text, ids, err
}

func chatIDs(st *state, msgs []Message) ([]int32, error) {
	if st.tok == nil {
		return nil, errNoTokenizer
	}
	text, err := renderChat(st.tok, msgs)
	if err != nil {
		return nil, err
	}
	return encodeChat(st.tok, text), nil
}

// encodeChat tokenises a rendered conversation. Templates that write the
// BOS string themselves get no second BOS.
func encodeChat(tok *tokenizer.Tokenizer, text string) []int32 {
	addBOS := true
	if bos := tok.BOS(); bos >= 0 && strings.HasPrefix(text, tok.TokenString(bos)) {
		addBOS = false
	}
	return tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: addBOS})
}

func validateMessages(msgs []Message) error {
	if len(msgs) == 0 {
		return errors.New("messages must not be empty")
	}
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return fmt.Errorf("messages[%d].role %q is not system, user or assistant", i, m.Role)
		}
	}
	return nil
}
