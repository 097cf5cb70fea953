package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bitnet-go/bitnet/internal/server"
	"github.com/bitnet-go/bitnet/internal/server/servertest"
)

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func post(t *testing.T, url, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode
}

func TestBadRequests(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 2, MaxBodyBytes: 64 << 10})
	chat := inst.URL + "/v1/chat/completions"
	compl := inst.URL + "/v1/completions"
	long := strings.Repeat("once upon a time ", 400)
	tests := []struct {
		name, url, body string
		status          int
		typ, param      string
		code            string
		msg             string // a substring of the message
	}{
		{name: "malformed JSON", url: chat, body: `{"messages": [`, status: 400, typ: "invalid_request_error", msg: "not valid JSON"},
		{name: "trailing garbage", url: chat, body: `{"messages":[{"role":"user","content":"hi"}]} x`, status: 400, msg: "not valid JSON"},
		{name: "empty body", url: chat, body: ``, status: 400, msg: "empty"},
		{name: "not an object", url: chat, body: `[1,2]`, status: 400, msg: "must be a JSON object"},
		{name: "wrong type", url: chat, body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}`, status: 400, param: "max_tokens", msg: "max_tokens must be an integer, got a JSON string"},
		{name: "wrong type nested", url: chat, body: `{"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":"yes"}}`, status: 400, msg: "include_usage must be a boolean"},
		{name: "wrong type stop", url: chat, body: `{"messages":[{"role":"user","content":"hi"}],"stop":7}`, status: 400, param: "stop", msg: "stop must be a string or an array"},
		{name: "negative max_tokens", url: chat, body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":-1}`, status: 400, param: "max_tokens", msg: "max_tokens must be >= 0"},
		{name: "negative max_tokens completions", url: compl, body: `{"prompt":"hi","max_tokens":-5}`, status: 400, param: "max_tokens", msg: "max_tokens must be >= 0"},
		{name: "empty messages", url: chat, body: `{"messages":[]}`, status: 400, param: "messages", msg: "messages must not be empty"},
		{name: "missing messages", url: chat, body: `{"model":""}`, status: 400, param: "messages", msg: "messages is required"},
		{name: "bad role", url: chat, body: `{"messages":[{"role":"tool","content":"hi"}]}`, status: 400, param: "messages[0].role", msg: "not supported"},
		{name: "image part", url: chat, body: `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, status: 400, param: "messages[0].content", msg: "text only"},
		{name: "missing prompt", url: compl, body: `{"max_tokens":3}`, status: 400, param: "prompt", msg: "prompt is required"},
		{name: "unknown model", url: chat, body: `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, status: 404, param: "model", code: "model_not_found", msg: `"gpt-9" does not exist`},
		{name: "invalid UTF-8", url: chat, body: "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}", status: 400, msg: "not valid UTF-8 (first bad byte at offset 42)"},
		{name: "oversize body", url: compl, body: `{"prompt":"` + strings.Repeat("a", 65<<10) + `"}`, status: 413, msg: "larger than this server's limit of 65536 bytes"},
		{name: "prompt too long", url: compl, body: `{"prompt":` + mustJSON(long) + `}`, status: 400, param: "prompt", code: "context_length_exceeded", msg: "context holds 512"},
		{name: "temperature out of range", url: chat, body: `{"messages":[{"role":"user","content":"hi"}],"temperature":3}`, status: 400, param: "temperature"},
		{name: "n zero", url: chat, body: `{"messages":[{"role":"user","content":"hi"}],"n":0}`, status: 400, param: "n"},
		{name: "logit_bias key", url: chat, body: `{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"x":1}}`, status: 400, param: "logit_bias"},
		{name: "top_logprobs without logprobs", url: chat, body: `{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}`, status: 400, param: "top_logprobs"},
		{name: "token id outside vocabulary", url: compl, body: `{"prompt":[1,99999]}`, status: 400, param: "prompt", msg: "outside the vocabulary"},
		{name: "unknown endpoint", url: inst.URL + "/v1/embeddings", body: `{}`, status: 404, code: "unknown_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, b := post(t, tc.url, tc.body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, b)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var e errorBody
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" {
				t.Fatalf("not an OpenAI error body (%v): %s", err, b)
			}
			if tc.typ != "" && e.Error.Type != tc.typ {
				t.Errorf("type %q, want %q", e.Error.Type, tc.typ)
			}
			if tc.param != "" && (e.Error.Param == nil || *e.Error.Param != tc.param) {
				t.Errorf("param %v, want %q", e.Error.Param, tc.param)
			}
			if tc.code != "" && (e.Error.Code == nil || *e.Error.Code != tc.code) {
				t.Errorf("code %v, want %q", e.Error.Code, tc.code)
			}
			if !strings.Contains(e.Error.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", e.Error.Message, tc.msg)
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestAPIKey(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 1, APIKey: "sekret"})
	body := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
	for _, tc := range []struct {
		name   string
		header []string
		status int
	}{
		{"missing", nil, 401},
		{"wrong", []string{"Authorization", "Bearer nope"}, 401},
		{"not bearer", []string{"Authorization", "Basic c2VrcmV0"}, 401},
		{"right", []string{"Authorization", "Bearer sekret"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, b := post(t, inst.URL+"/v1/chat/completions", body, tc.header...)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, b)
			}
			if tc.status == 401 {
				var e errorBody
				if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == nil || *e.Error.Code != "invalid_api_key" {
					t.Errorf("body %s", b)
				}
				if res.Header.Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate header")
				}
			}
		})
	}
	// Probes and the page stay open.
	for _, path := range []string{"/health", "/ready", "/", "/metrics"} {
		res, err := http.Get(inst.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s without a key: %d", path, res.StatusCode)
		}
	}
}

// openStream starts a streaming completion and returns its reader once
// the first event has arrived, so the sequence is known to hold a slot.
func openStream(t *testing.T, ctx context.Context, url, body string) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: {") {
		t.Fatalf("first line %q, %v", line, err)
	}
	return res, br
}

// longStream asks for as many tokens as the context holds, past any
// end-of-text token, so the stream outlives anything the test does.
const longStream = `{"prompt":"Once upon a time","temperature":0,"ignore_eos":true,"stream":true}`

func modelStats(t *testing.T, url string) (busy int, cancelled, completed int64) {
	t.Helper()
	var st server.Stats
	if code := getJSON(t, url+"/v1/stats", &st); code != 200 {
		t.Fatalf("stats: %d", code)
	}
	if len(st.Engine.Models) != 1 {
		t.Fatalf("stats: %d models", len(st.Engine.Models))
	}
	m := st.Engine.Models[0]
	return st.BusySlots, m.Cancelled, m.Completed
}

// waitFor polls until cond holds; the bound only stops a broken server
// from hanging the suite.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDisconnectFreesSlot(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 1})
	// A stream can in principle finish on its own before the disconnect
	// reaches the engine; only a cancelled one proves the point, so try
	// a few times.
	for attempt := range 3 {
		ctx, cancel := context.WithCancel(t.Context())
		res, _ := openStream(t, ctx, inst.URL+"/v1/completions", longStream)
		cancel()
		res.Body.Close()
		var cancelled, completed int64
		waitFor(t, "the slot to free", func() bool {
			var busy int
			busy, cancelled, completed = modelStats(t, inst.URL)
			return busy == 0 && cancelled+completed == int64(attempt+1)
		})
		if cancelled > 0 {
			return
		}
	}
	t.Fatal("every stream finished before its disconnect was noticed")
}

func TestQueueFullIs429(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 1, Queue: -1})
	for range 3 {
		ctx, cancel := context.WithCancel(t.Context())
		res, _ := openStream(t, ctx, inst.URL+"/v1/completions", longStream)
		res2, b := post(t, inst.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":4}`)
		cancel()
		res.Body.Close()
		if res2.StatusCode == 200 {
			// The long stream ended first; the slot really was free.
			waitFor(t, "the slot to free", func() bool { busy, _, _ := modelStats(t, inst.URL); return busy == 0 })
			continue
		}
		if res2.StatusCode != 429 {
			t.Fatalf("status %d, want 429: %s", res2.StatusCode, b)
		}
		if ra := res2.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		var e errorBody
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == nil || *e.Error.Code != "rate_limit_exceeded" {
			t.Errorf("body %s", b)
		}
		// The slot comes back once the stream is gone.
		waitFor(t, "the slot to free", func() bool { busy, _, _ := modelStats(t, inst.URL); return busy == 0 })
		if res3, b := post(t, inst.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":4}`); res3.StatusCode != 200 {
			t.Fatalf("after the stream: %d %s", res3.StatusCode, b)
		}
		return
	}
	t.Fatal("the long stream kept finishing before the second request")
}

func TestDrainFinishesStreams(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 4})
	const n = 3
	readers := make([]*bufio.Reader, n)
	for i := range readers {
		res, br := openStream(t, t.Context(), inst.URL+"/v1/completions",
			`{"prompt":"Once upon a time","temperature":0,"ignore_eos":true,"max_tokens":150,"stream":true,"stream_options":{"include_usage":true}}`)
		defer res.Body.Close()
		readers[i] = br
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shut <- inst.Server.Shutdown(ctx)
	}()
	waitFor(t, "draining", inst.Server.Draining)
	// Probes and new API calls see the drain (through the handler: the
	// listener is closed by now).
	for _, tc := range []struct{ method, path string }{{"GET", "/ready"}, {"POST", "/v1/completions"}} {
		rec := httptest.NewRecorder()
		inst.Server.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"prompt":"x"}`)))
		if rec.Code != 503 {
			t.Errorf("%s %s while draining: %d", tc.method, tc.path, rec.Code)
		}
	}
	for _, path := range []string{"/health", "/v1/stats"} {
		rec := httptest.NewRecorder()
		inst.Server.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Errorf("%s while draining: %d", path, rec.Code)
		}
	}
	for i, br := range readers {
		rest, err := io.ReadAll(br)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		s := string(rest)
		if !strings.Contains(s, `"finish_reason":"length"`) || !strings.Contains(s, `"completion_tokens":150`) || !strings.HasSuffix(s, "data: [DONE]\n\n") {
			t.Errorf("stream %d did not finish whole: ...%s", i, s[max(0, len(s)-300):])
		}
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 1, Timeout: time.Nanosecond})
	res, b := post(t, inst.URL+"/v1/completions", `{"prompt":"Once upon a time","max_tokens":8}`)
	if res.StatusCode != 504 {
		t.Fatalf("status %d, want 504: %s", res.StatusCode, b)
	}
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil || !strings.Contains(e.Error.Message, "timeout") {
		t.Errorf("body %s", b)
	}
}

func TestProbesAndMetrics(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 2})
	var ready map[string]string
	if code := getJSON(t, inst.URL+"/ready", &ready); code != 200 || ready["status"] != "ready" {
		t.Errorf("/ready: %d %v", code, ready)
	}
	var models struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
	}
	if code := getJSON(t, inst.URL+"/v1/models", &models); code != 200 || models.Object != "list" || len(models.Data) != 1 || models.Data[0].ID != "bitnet-tiny" {
		t.Errorf("/v1/models: %d %+v", code, models)
	}
	if res, b := post(t, inst.URL+"/v1/completions", `{"model":"bitnet-tiny","prompt":"Once upon a time","max_tokens":6,"temperature":0}`); res.StatusCode != 200 {
		t.Fatalf("completion: %d %s", res.StatusCode, b)
	}
	res, err := http.Get(inst.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`bitnet_http_requests_total{code="200",route="POST /v1/completions"} 1`,
		`bitnet_prompt_tokens_total 5`,
		`bitnet_generated_tokens_total 6`,
		`bitnet_time_to_first_token_seconds_count 1`,
		`bitnet_time_per_output_token_seconds_count 5`,
		`bitnet_queue_depth{model="bitnet-tiny"} 0`,
		`bitnet_busy_slots{model="bitnet-tiny"} 0`,
		`bitnet_slots{model="bitnet-tiny"} 2`,
		`bitnet_kv_cache_bytes{model="bitnet-tiny"} 0`,
		`process_resident_memory_bytes`,
		`go_memstats_heap_alloc_bytes`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var st server.Stats
	getJSON(t, inst.URL+"/v1/stats", &st)
	if st.GeneratedTokens != 6 || st.PromptTokens != 5 || st.Slots != 2 || !st.Ready || st.Requests["200"] < 3 || st.Memory.GoHeapBytes == 0 {
		t.Errorf("/v1/stats: %+v", st)
	}
}

func TestWrongMethod(t *testing.T) {
	inst := servertest.Start(t, servertest.Options{Slots: 1})
	res, err := http.Get(inst.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 || res.Header.Get("Allow") != "POST" {
		t.Errorf("GET /v1/chat/completions: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:8080", false, true},
		{"localhost:8080", false, true},
		{"[::1]:8080", false, true},
		{"0.0.0.0:8080", false, false},
		{":8080", false, false},
		{"192.168.1.4:8080", false, false},
		{"0.0.0.0:8080", true, true},
		{"nonsense", true, false},
	} {
		err := server.CheckAddr(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, %v) = %v", tc.addr, tc.remote, err)
		}
		if err != nil && tc.addr != "nonsense" && !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("error does not name the flag: %v", err)
		}
	}
}
