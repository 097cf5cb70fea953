package model

import "fmt"

func openGGUF(path string) (*Config, Tensors, *Arch, error) {
	return nil, nil, nil, fmt.Errorf("%s: GGUF support is not built yet", path)
}
