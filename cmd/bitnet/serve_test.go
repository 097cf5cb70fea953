package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServeFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"serve", "--addr", "0.0.0.0:0"}, "--allow-remote"},
		{[]string{"serve", "--addr", ":0"}, "--allow-remote"},
		{[]string{"serve", "--parallel", "0"}, "--parallel must be >= 1"},
		{[]string{"serve", "--queue", "-1"}, "--queue must be >= 0"},
		{[]string{"serve", "--max-body", "0"}, "--max-body must be >= 1"},
		{[]string{"serve", "--ctx", "-3"}, "--ctx must be >= 0"},
		{[]string{"serve", "extra"}, "unknown command"},
	} {
		code, _, stderr := cli(t, "", tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want a failure naming %q", tc.args, code, stderr, tc.msg)
		}
	}
	if code, _, _ := cli(t, "", "serve", "--addr", "0.0.0.0:0"); code != 2 {
		t.Errorf("a remote address without --allow-remote exits %d, want 2 (usage)", code)
	}
}

func TestServeHelp(t *testing.T) {
	code, stdout, _ := cli(t, "", "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"bitnet serve --addr 0.0.0.0:8080 --allow-remote", "--parallel", "--queue", "--api-key", "--timeout", "--drain-timeout", "/v1/chat/completions"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// syncBuffer is written by the server's logger while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listeningRE = regexp.MustCompile(`msg=listening url=(http://127\.0\.0\.1:\d+)/`)

// The command serves until its context ends (Ctrl-C in main), then
// drains and exits 0.
func TestServeRunsAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- execute(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--parallel", "2", "--alias", "tiny"}, strings.NewReader(""), &stdout, &stderr)
	}()
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if m := listeningRE.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d early: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	res, err := http.Post(base+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"tiny","prompt":"Once upon a time","max_tokens":8,"temperature":0}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var out struct {
		Model   string `json:"model"`
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(b, &out); err != nil || res.StatusCode != 200 || out.Model != "tiny" || len(out.Choices) != 1 || out.Choices[0].Text == "" {
		t.Fatalf("completion: %d %s", res.StatusCode, b)
	}
	// What the CLI serves is what `bitnet run` prints.
	code, runOut, runErr := cli(t, "", "run", "-p", "Once upon a time", "-n", "8", "--temperature", "0")
	if code != 0 {
		t.Fatalf("run: %s", runErr)
	}
	if got, want := out.Choices[0].Text, strings.TrimSuffix(runOut, "\n"); got != want {
		t.Errorf("serve gave %q, run printed %q", got, want)
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if log := stderr.String(); !strings.Contains(log, "msg=request") || !strings.Contains(log, "msg=stopped") {
		t.Errorf("log lacks request or stop lines:\n%s", log)
	}
}

func TestServeAPIKeyFileErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--api-key", "a", "--api-key-file", "k"}, "not both"},
		{[]string{"serve", "--api-key-file", "/nonexistent/key"}, "--api-key-file"},
	} {
		code, _, stderr := cli(t, "", tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error mentioning %q", tc.args, code, stderr, tc.want)
		}
	}
}
