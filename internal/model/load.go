package model

import (
	"fmt"
	"os"
	"path/filepath"
)

// Load opens a model from a HF checkpoint folder or a GGUF file.
func Load(path string, o Options) (Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	var (
		cfg  *Config
		w    Tensors
		arch *Arch
	)
	if st.IsDir() {
		cfg, err = ReadHFConfig(path)
		if err != nil {
			return nil, err
		}
		if arch, err = lookup(cfg.SourceArch, false); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(path, "config.json"), err)
		}
		cfg.Arch = arch.Name
		if arch.Configure != nil {
			if err := arch.Configure(cfg); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		if err := cfg.Validate(filepath.Join(path, "config.json")); err != nil {
			return nil, err
		}
		if w, err = openHFTensors(path, cfg); err != nil {
			return nil, err
		}
	} else {
		cfg, w, arch, err = openGGUF(path)
		if err != nil {
			return nil, err
		}
	}
	m, err := arch.New(cfg, w, o)
	if err != nil {
		w.Close()
		return nil, err
	}
	return m, nil
}
