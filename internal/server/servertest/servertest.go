// Package servertest starts a server on 127.0.0.1 with the built-in model
// for tests of the server, the CLI and end-to-end clients.
package servertest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet"
	"github.com/bitnet-go/bitnet/internal/server"
)

// Options pick the engine and server settings; zero values are the
// defaults of bitnet.Options and server.Config.
type Options struct {
	Slots, Queue, CtxLen, Threads int
	APIKey                        string
	MaxBodyBytes                  int64
	Timeout                       time.Duration
}

// Instance is a running server.
type Instance struct {
	Engine *bitnet.Engine
	Model  *bitnet.Model
	Server *server.Server
	// URL is the server's root, without a trailing slash.
	URL string
}

// Start loads the built-in model and serves it until the test ends.
// Logs are dropped unless BITNET_TEST_LOG is set, since every request
// writes a line.
func Start(tb testing.TB, o Options) *Instance {
	tb.Helper()
	eng, err := bitnet.NewEngine(bitnet.Options{Slots: o.Slots, Queue: o.Queue, CtxLen: o.CtxLen, Threads: o.Threads, Offline: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	m, err := eng.Load(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("BITNET_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv, err := server.New(server.Config{Engine: eng, Model: m, APIKey: o.APIKey, MaxBodyBytes: o.MaxBodyBytes,
		Timeout: o.Timeout, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return &Instance{Engine: eng, Model: m, Server: srv, URL: "http://" + ln.Addr().String()}
}
