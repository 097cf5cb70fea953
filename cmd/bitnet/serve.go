package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bitnet-go/bitnet"
	"github.com/bitnet-go/bitnet/internal/server"
)

func init() { register(newServeCmd) }

type serveFlags struct {
	modelFlags
	addr         string
	allowRemote  bool
	parallel     int
	queue        int
	timeout      time.Duration
	drainTimeout time.Duration
	apiKeyFile   string
	apiKey       string
	alias        string
	maxBody      int64
	logJSON      bool
}

func newServeCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a model over an OpenAI-compatible HTTP API, with a web chat",
		Long: `Serve a model over HTTP: the OpenAI endpoints /v1/chat/completions,
/v1/completions and /v1/models (streaming included), a web chat at /,
Prometheus metrics at /metrics, JSON stats at /v1/stats, and /health and
/ready probes.

Requests run together: --parallel sequences advance in each forward pass
and up to --queue more wait; beyond that the server answers 429 with
Retry-After. A client that disconnects frees its slot at the next step.

It listens on 127.0.0.1 only unless --allow-remote is given. SIGTERM or
Ctrl-C drains: new requests get 503, streams in flight finish (up to
--drain-timeout), then the server exits.`,
		Example: `  bitnet serve
  bitnet serve -m ./bitnet-b1.58-2B-4T --parallel 8 --ctx 4096
  bitnet serve --addr 0.0.0.0:8080 --allow-remote --api-key "$(cat key.txt)"

  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"messages":[{"role":"user","content":"Hello"}],"stream":true}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd)
		},
	}
	fs := cmd.Flags()
	f.modelFlags.register(fs)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow an --addr that other machines can reach (e.g. 0.0.0.0:8080)")
	fs.IntVar(&f.parallel, "parallel", 4, "sequences generated together (continuous batching slots)")
	fs.IntVar(&f.queue, "queue", 64, "requests that may wait for a slot; beyond that 429 (0: none)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "longest a generation request may run (0: no limit)")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, how long streams in flight may take to finish")
	fs.StringVar(&f.apiKey, "api-key", "", "require \"Authorization: Bearer KEY\" on /v1/*")
	fs.StringVar(&f.apiKeyFile, "api-key-file", "", "read the API key from this file (keeps it out of the process list)")
	fs.StringVar(&f.alias, "alias", "", "model name to report and accept in requests (default: the model's name)")
	fs.Int64Var(&f.maxBody, "max-body", 1<<20, "largest request body in bytes")
	fs.BoolVar(&f.logJSON, "log-json", false, "write request logs as JSON lines")
	return cmd
}

func (f *serveFlags) validate() error {
	switch {
	case f.parallel < 1:
		return usagef("--parallel must be >= 1, got %d", f.parallel)
	case f.queue < 0:
		return usagef("--queue must be >= 0, got %d", f.queue)
	case f.timeout < 0:
		return usagef("--timeout must be >= 0, got %v", f.timeout)
	case f.drainTimeout < 0:
		return usagef("--drain-timeout must be >= 0, got %v", f.drainTimeout)
	case f.maxBody < 1:
		return usagef("--max-body must be >= 1, got %d", f.maxBody)
	}
	if err := server.CheckAddr(f.addr, f.allowRemote); err != nil {
		return usageError{err}
	}
	return nil
}

func (f *serveFlags) run(cmd *cobra.Command) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.apiKeyFile != "" {
		if f.apiKey != "" {
			return usagef("give --api-key or --api-key-file, not both")
		}
		b, err := os.ReadFile(f.apiKeyFile)
		if err != nil {
			return fmt.Errorf("--api-key-file: %w", err)
		}
		if f.apiKey = strings.TrimSpace(string(b)); f.apiKey == "" {
			return fmt.Errorf("--api-key-file: %s is empty", f.apiKeyFile)
		}
	}
	var h slog.Handler = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
	if f.logJSON {
		h = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
	}
	log := slog.New(h)

	// main only catches Ctrl-C; a service manager stops us with SIGTERM.
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM)
	defer stop()

	// Listen before loading so a taken port fails fast.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	defer ln.Close()

	t0 := time.Now()
	eng, m, err := f.openServe(ctx, cmd)
	if err != nil {
		return err
	}
	defer eng.Close()
	srv, err := server.New(server.Config{Engine: eng, Model: m, Alias: f.alias, APIKey: f.apiKey,
		MaxBodyBytes: f.maxBody, Timeout: f.timeout, Logger: log})
	if err != nil {
		return err
	}
	info, _ := m.Info()
	log.Info("listening", "url", "http://"+ln.Addr().String()+"/", "model", srv.ModelName(), "parallel", f.parallel,
		"queue", f.queue, "ctx", info.Context, "kv_type", info.KVType, "threads", eng.Threads(), "isa", bitnet.ISA(),
		"load", time.Since(t0).Round(time.Millisecond), "api_key", f.apiKey != "")

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	stop()

	// A second signal while draining cuts the drain short.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	dctx, cancel := context.WithTimeout(context.Background(), f.drainTimeout)
	defer cancel()
	go func() {
		select {
		case <-again:
			log.Warn("second signal; stopping now")
			cancel()
		case <-dctx.Done():
		}
	}()
	if err := srv.Shutdown(dctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

// openServe is modelFlags.open with the server's slots and queue. The
// engine reads Queue 0 as "the default", so "no queue" is passed as a
// negative number.
func (f *serveFlags) openServe(ctx context.Context, cmd *cobra.Command) (*bitnet.Engine, *bitnet.Model, error) {
	f.slots, f.modelFlags.queue = f.parallel, f.queue
	if f.queue == 0 {
		f.modelFlags.queue = -1
	}
	return f.modelFlags.open(ctx, cmd)
}
