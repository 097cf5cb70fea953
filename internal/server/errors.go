package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bitnet-go/bitnet"
)

// apiError is an error in OpenAI's shape. Clients (the official SDKs
// included) read type, param and code to decide what to show or retry.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
	// RetryAfter becomes a Retry-After header so that clients back off
	// instead of hammering a full queue.
	RetryAfter time.Duration `json:"-"`
}

func (e *apiError) Error() string { return e.Message }

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func invalid(param, format string, a ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: ptr(param), Message: fmt.Sprintf(format, a...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bitnet"`)
	}
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// generationError maps what the engine returns to the status a client
// should act on: 429 means "retry later", 400 "fix the request",
// 503 "this server is going away".
func (s *Server) generationError(ctx context.Context, err error, promptParam string) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, bitnet.ErrQueueFull):
		return &apiError{Status: http.StatusTooManyRequests, Type: "requests", Code: ptr("rate_limit_exceeded"),
			Message:    fmt.Sprintf("the server is busy: all %d slots and the queue are in use; retry later", s.slots),
			RetryAfter: s.cfg.RetryAfter}
	case errors.Is(err, bitnet.ErrContextFull):
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: ptr(promptParam),
			Code: ptr("context_length_exceeded"), Message: err.Error()}
	case errors.Is(err, bitnet.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: ptr("shutting_down"),
			Message: "the server is shutting down", RetryAfter: s.cfg.RetryAfter}
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return &apiError{Status: http.StatusGatewayTimeout, Type: "server_error", Code: ptr("timeout"),
			Message: fmt.Sprintf("the request did not finish within the server's timeout of %v", s.cfg.Timeout)}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
}

// validationError turns GenerateOptions.Validate's message, which starts
// with the JSON field name, into a 400 naming that field.
func validationError(err error) *apiError {
	msg := err.Error()
	param, _, _ := strings.Cut(msg, " ")
	return invalid(param, "%s", msg)
}
