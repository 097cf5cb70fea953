package bitnet

import (
	"github.com/bitnet-go/bitnet/internal/convert"
	"github.com/bitnet-go/bitnet/internal/hub"
	"github.com/bitnet-go/bitnet/internal/tokenizer"
)

// The file tools the bitnet command offers beside generation: the Hugging
// Face cache, tokenizers and GGUF conversion. They are aliases of the
// engine's own packages so that programs (and the CLI) need nothing else.

// Hugging Face Hub cache, shared with Python's huggingface_hub.
type (
	HubOptions     = hub.Options
	HubClient      = hub.Client
	RepoRef        = hub.Ref
	CachedModel    = hub.CachedModel
	CachedRevision = hub.CachedRevision
)

// NewHubClient makes a client of the Hub and its local cache.
func NewHubClient(o HubOptions) (*HubClient, error) { return hub.NewClient(o) }

// ParseRepoRef parses "ORG/NAME[@REVISION]".
func ParseRepoRef(s string) (RepoRef, error) { return hub.ParseRef(s) }

// Tokenizers of model folders, tokenizer.json, tokenizer.model and GGUF
// files.
type (
	Tokenizer     = tokenizer.Tokenizer
	EncodeOptions = tokenizer.EncodeOptions
)

// LoadTokenizer reads the tokenizer of a model folder, a tokenizer.json, a
// tokenizer.model or a .gguf file.
func LoadTokenizer(path string) (*Tokenizer, error) { return tokenizer.Load(path) }

// RenderChat renders a conversation with the tokenizer's chat template (or
// the default one), as transformers' apply_chat_template does.
func RenderChat(tok *Tokenizer, msgs []Message, addGenerationPrompt bool) (string, error) {
	return renderChatWith(tok, msgs, addGenerationPrompt)
}

// GGUF conversion of HF checkpoints.
type (
	ConvertOptions = convert.Options
	ConvertPlan    = convert.Plan
	ConvertType    = convert.Type
	EmbdType       = convert.EmbdType
)

// Conversion entry points: parse the type names, check the output path
// before any work, then Prepare (or PrepareSynthetic) a plan and Write it.
var (
	ParseConvertType        = convert.ParseType
	ParseEmbdType           = convert.ParseEmbdType
	CheckConvertOutput      = convert.CheckOutput
	PrepareConvert          = convert.Prepare
	PrepareSyntheticConvert = convert.Synthetic
	SyntheticConvertNames   = convert.SyntheticNames
	DefaultConvertType      = convert.I2S
)
