package devlisten

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"codex/pkg/webhook"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestListen: the listener registers itself in the user's project, prints a signed delivery as
// verified and a forged one as refused, and deletes its endpoint when it stops.
func TestListen(t *testing.T) {
	key, secret := webhook.NewSecret()
	var mu sync.Mutex
	var calls []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch {
		case r.Method == "GET" && r.URL.Path == "/projects":
			_, _ = w.Write([]byte(`{"data":[{"id":"prj_1"}]}`))
		case r.Method == "POST":
			var body struct{ URL string }
			_ = json.NewDecoder(r.Body).Decode(&body)
			if !strings.HasPrefix(body.URL, "http://127.0.0.1:") {
				t.Errorf("registered %q", body.URL)
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":"we_1","secret":"` + secret + `"}`))
		case r.Method == "DELETE":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer api.Close()

	out := &syncBuffer{}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{API: api.URL, Token: "t", Out: out, Ready: func(u string) { ready <- u }})
	}()
	url := <-ready

	body := []byte(`{"id":"evt_1","object":"event","type":"checkout.completed","data":{"object":{}}}`)
	post := func(h map[string]string) int {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(webhook.Headers("evt_1", time.Now(), body, key)); s != 200 {
		t.Errorf("a signed delivery answered %d", s)
	}
	other, _ := webhook.NewSecret()
	if s := post(webhook.Headers("evt_1", time.Now(), body, other)); s != 400 {
		t.Errorf("a forged delivery answered %d", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "checkout.completed") || !strings.Contains(text, "evt_1  signature verified") || !strings.Contains(text, "SIGNATURE REFUSED") {
		t.Errorf("printed:\n%s", text)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(calls, ", "); got != "GET /projects, POST /projects/prj_1/webhooks, DELETE /projects/prj_1/webhooks/we_1" {
		t.Errorf("API calls: %s", got)
	}
}
