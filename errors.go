package bitnet

import (
	"github.com/bitnet-go/bitnet/internal/engine"
	"github.com/bitnet-go/bitnet/internal/model"
)

// Errors that callers tell apart with errors.Is.
var (
	// ErrQueueFull: every sequence slot is busy and the queue is full.
	ErrQueueFull = engine.ErrQueueFull
	// ErrContextFull: the prompt does not fit the context.
	ErrContextFull = model.ErrContextFull
	// ErrClosed: the engine (or the model's scheduler) was closed.
	ErrClosed = engine.ErrClosed
)
