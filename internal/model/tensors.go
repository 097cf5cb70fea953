package model

import (
	"fmt"
	"io"

	"github.com/bitnet-go/bitnet/internal/quant"
)

// Tensors gives architectures their weights by canonical (GGUF-style) name,
// e.g. "blk.3.attn_q.weight", in the layout the kernels want, whatever the
// file format. Shapes are [out, in] (rows, columns), checked against the
// file; a mismatch is an error that names the tensor.
type Tensors interface {
	// Ternary returns a BitLinear weight, ternarised if the file holds floats.
	Ternary(name string, out, in int) (*quant.Ternary, error)
	// Dense returns an embedding-like matrix [rows, cols].
	Dense(name string, rows, cols int) (*quant.Dense, error)
	// Vector returns a 1-D float tensor (norm weights).
	Vector(name string, n int) ([]float32, error)
	// Has reports whether the tensor exists.
	Has(name string) bool
	// Stats reports mapped bytes and tensor types.
	Stats() Stats
	io.Closer
}

// MissingTensorError names a tensor the architecture needs and the file lacks.
type MissingTensorError struct {
	File, Name string
}

func (e *MissingTensorError) Error() string {
	return fmt.Sprintf("%s: missing tensor %q", e.File, e.Name)
}

// ShapeError names a tensor whose shape disagrees with the configuration.
type ShapeError struct {
	File, Name string
	Got, Want  []int
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("%s: tensor %q has shape %v, the configuration implies %v", e.File, e.Name, e.Got, e.Want)
}
