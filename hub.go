package bitnet

import (
	"context"

	"github.com/bitnet-go/bitnet/internal/hub"
)

func isRepoRef(s string) bool { return hub.IsRepoRef(s) }

// pull resolves ORG/NAME[@REV] to a snapshot folder in the Hub cache,
// downloading what inference needs unless the engine is offline.
func (e *Engine) pull(ctx context.Context, ref string) (string, error) {
	r, err := hub.ParseRef(ref)
	if err != nil {
		return "", err
	}
	c, err := hub.NewClient(hub.Options{CacheDir: e.opts.CacheDir, Offline: e.opts.Offline, Progress: e.opts.Progress})
	if err != nil {
		return "", err
	}
	return c.Resolve(ctx, r)
}
