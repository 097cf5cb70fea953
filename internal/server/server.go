// Package server serves a loaded model over an OpenAI-compatible HTTP API,
// with Prometheus metrics, a JSON stats endpoint and a small web chat.
//
// It is written against the public bitnet package only: continuous
// batching, queueing and cancellation come from the engine, and each HTTP
// request is one (or n) Generate calls on it.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bitnet-go/bitnet"
)

// Config configures a Server.
type Config struct {
	Engine *bitnet.Engine
	Model  *bitnet.Model
	// Alias is the model name clients use; "" uses the model's own name.
	// Requests may name either, or leave model empty.
	Alias string
	// APIKey, when set, is required as "Authorization: Bearer KEY" on
	// /v1/*. The page, /health, /ready and /metrics stay open so probes
	// and scrapers need no secret.
	APIKey string
	// MaxBodyBytes bounds request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	// Timeout bounds each generation request; 0 means none.
	Timeout time.Duration
	// RetryAfter is what 429 and 503 responses tell clients to wait;
	// 0 means one second.
	RetryAfter time.Duration
	// WriteTimeout bounds each write to a client, so a client that stops
	// reading cannot pin a handler forever; 0 means one minute.
	WriteTimeout time.Duration
	// Logger receives one line per request; nil uses slog.Default().
	Logger *slog.Logger
}

// Server is an HTTP server for one model.
type Server struct {
	cfg     Config
	model   *bitnet.Model
	name    string // what responses call the model
	names   map[string]bool
	ctxLen  int
	vocab   int
	slots   int
	stopIDs map[int32]bool
	fp      string
	started time.Time
	log     *slog.Logger

	handler http.Handler
	http    *http.Server
	// base is the parent of every request context; cancelling it cuts
	// the generations still running when a drain runs out of time.
	base       context.Context
	cancelBase context.CancelFunc

	draining atomic.Bool
	inFlight atomic.Int64
	metrics  *metrics
	live     liveStats
}

// New makes a server for cfg.Model.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil || cfg.Model == nil {
		return nil, errors.New("server: Engine and Model are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	info, err := cfg.Model.Info()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, model: cfg.Model, ctxLen: info.Context, vocab: info.Vocab, log: cfg.Logger,
		started: time.Now(), fp: "fp_bitnet_" + bitnet.ISA(), stopIDs: map[int32]bool{}}
	for _, id := range info.StopIDs {
		s.stopIDs[id] = true
	}
	if st, ok := cfg.Model.Stats(); ok {
		s.slots = st.Slots
	}
	s.name = cfg.Alias
	if s.name == "" {
		s.name = cfg.Model.Name()
		// Clients put the name in URLs and configs; the built-in model's
		// display name has spaces, its folder name does not.
		if strings.ContainsAny(s.name, " \t") && cfg.Model.Path() != "" {
			s.name = filepath.Base(cfg.Model.Path())
		}
	}
	s.names = map[string]bool{s.name: true, cfg.Model.Name(): true}
	if p := cfg.Model.Path(); p != "" {
		s.names[filepath.Base(p)] = true
	}
	s.metrics = newMetrics(s)
	s.handler = s.routes()
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler returns the server's routes, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// ModelName is the name responses give the model.
func (s *Server) ModelName() string { return s.name }

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown, which the caller must wait for separately: Serve returns as
// soon as the listener closes, while Shutdown waits for the streams.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown drains the server: /ready and new requests answer 503, the
// listeners close, and requests in flight run to completion. If ctx ends
// first, the remaining generations are cancelled, their connections closed,
// and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.log.Info("draining", "in_flight", s.inFlight.Load())
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.log.Warn("drain deadline passed; cutting the remaining requests", "in_flight", s.inFlight.Load())
		s.cancelBase()
		s.http.Close()
		return err
	}
	s.cancelBase()
	return nil
}

// Draining reports whether Shutdown has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// CheckAddr refuses listen addresses that reach beyond this machine unless
// allowRemote is set: the API runs arbitrary prompts on this CPU and, without
// --api-key, anyone who can connect can use it.
func CheckAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "every interface"
	}
	return fmt.Errorf("listen address %q (%s) is reachable from other machines; pass --allow-remote to allow that (and consider --api-key), or use 127.0.0.1", addr, shown)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /v1/completions", s.handleCompletions)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /v1/models/{model...}", s.handleModel)
	mux.HandleFunc("GET /v1/stats", s.handleStats)
	mux.HandleFunc("/v1/", s.handleUnknown)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /ready", s.handleReady)
	mux.Handle("GET /metrics", s.metrics.handler())
	// "/" without a method: "GET /" would conflict with the "/v1/" catch-all.
	mux.Handle("/", webHandler())
	return s.logRequests(s.guard(mux))
}

// guard refuses new API work while draining and checks the API key.
// Draining comes first: a client retrying elsewhere needs the 503, not a
// 401 it cannot fix.
func (s *Server) guard(next http.Handler) http.Handler {
	key := []byte(s.cfg.APIKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		// Stats stay readable so operators can watch a drain progress.
		if s.draining.Load() && r.URL.Path != "/v1/stats" {
			w.Header().Set("Connection", "close")
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: ptr("shutting_down"),
				Message: "the server is shutting down", RetryAfter: s.cfg.RetryAfter})
			return
		}
		if len(key) > 0 {
			auth := r.Header.Get("Authorization")
			token, ok := strings.CutPrefix(auth, "Bearer ")
			switch {
			case auth == "":
				writeError(w, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: ptr("invalid_api_key"),
					Message: "no API key given: send it as \"Authorization: Bearer KEY\""})
				return
			case !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), key) != 1:
				writeError(w, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: ptr("invalid_api_key"),
					Message: "incorrect API key"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// reqInfo collects what a handler wants in the request's log line.
type reqInfo struct {
	attrs []slog.Attr
}

type reqInfoKey struct{}

func annotate(r *http.Request, attrs ...slog.Attr) {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		ri.attrs = append(ri.attrs, attrs...)
	}
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{}
		r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			// A panic in one handler must not take the API down; the
			// client gets a 500 if nothing was sent yet.
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "internal error"})
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if r.Context().Err() != nil && !sw.finished {
				// nginx's convention for "the client went away first".
				status = 499
			}
			// r.Pattern is set by the mux on this same request value; it
			// keeps the label set bounded whatever paths clients try.
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			s.metrics.request(route, status, d)
			s.live.countStatus(status)
			level := slog.LevelInfo
			if status >= 500 && status != 503 {
				level = slog.LevelError
			}
			attrs := append([]slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Int64("bytes", sw.bytes), slog.Duration("duration", d),
				slog.String("remote", r.RemoteAddr)}, ri.attrs...)
			s.log.LogAttrs(context.Background(), level, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter records the status and size of a response. Unwrap lets
// http.ResponseController reach the connection for flushes and deadlines.
type statusWriter struct {
	http.ResponseWriter
	status   int
	bytes    int64
	finished bool // the handler wrote a complete response
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// markFinished records that the response is whole, so a context
// cancelled afterwards (the client closing at the end) is not logged as
// an abandoned request.
func markFinished(w http.ResponseWriter) {
	for {
		switch x := w.(type) {
		case *statusWriter:
			x.finished = true
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return
		}
	}
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	_, loaded := s.model.Stats()
	switch {
	case s.draining.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	case !loaded:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "model": s.name})
	}
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) modelObject() modelObject {
	return modelObject{ID: s.name, Object: "model", Created: s.started.Unix(), OwnedBy: "bitnet"}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []modelObject{s.modelObject()}})
	markFinished(w)
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	if err := s.checkModel(r.PathValue("model")); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject())
	markFinished(w)
}

// knownRoutes lets a wrong method on a real endpoint answer 405 instead
// of the catch-all's 404.
var knownRoutes = map[string]string{
	"/v1/chat/completions": http.MethodPost, "/v1/completions": http.MethodPost,
	"/v1/models": http.MethodGet, "/v1/stats": http.MethodGet,
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	if m, ok := knownRoutes[r.URL.Path]; ok {
		w.Header().Set("Allow", m)
		writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error",
			Message: fmt.Sprintf("%s %s is not supported; use %s", r.Method, r.URL.Path, m)})
		return
	}
	writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: ptr("unknown_url"),
		Message: fmt.Sprintf("unknown request URL: %s %s", r.Method, r.URL.Path)})
}

func (s *Server) checkModel(name string) *apiError {
	if name == "" || s.names[name] {
		return nil
	}
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: ptr("model"), Code: ptr("model_not_found"),
		Message: fmt.Sprintf("the model %q does not exist; this server serves %q", name, s.name)}
}

// liveStats are the server's own running totals, counted as tokens are
// streamed rather than when requests end, so the page shows live rates.
type liveStats struct {
	promptTokens atomic.Int64
	genTokens    atomic.Int64
	ttftNanos    atomic.Int64
	ttftCount    atomic.Int64
	itlNanos     atomic.Int64
	itlCount     atomic.Int64
	rate         rateMeter

	mu       sync.Mutex
	byStatus map[int]int64
}

func (l *liveStats) countStatus(code int) {
	l.mu.Lock()
	if l.byStatus == nil {
		l.byStatus = map[int]int64{}
	}
	l.byStatus[code]++
	l.mu.Unlock()
}

// rateMeter counts events in one-second buckets to report a recent rate
// without keeping every timestamp.
type rateMeter struct {
	mu      sync.Mutex
	buckets [8]struct{ sec, n int64 }
}

const rateWindow = 5 // seconds

func (m *rateMeter) add(now time.Time, n int64) {
	sec := now.Unix()
	m.mu.Lock()
	b := &m.buckets[sec%int64(len(m.buckets))]
	if b.sec != sec {
		b.sec, b.n = sec, 0
	}
	b.n += n
	m.mu.Unlock()
}

// perSecond is the mean over the last rateWindow whole seconds plus the
// current partial one.
func (m *rateMeter) perSecond(now time.Time) float64 {
	sec := now.Unix()
	var n int64
	m.mu.Lock()
	for _, b := range m.buckets {
		if b.sec > sec-rateWindow && b.sec <= sec {
			n += b.n
		}
	}
	m.mu.Unlock()
	span := float64(rateWindow-1) + float64(now.Nanosecond())/1e9
	return float64(n) / span
}
