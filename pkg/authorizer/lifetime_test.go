package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"codex/pkg/apikey"
	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
)

// decide runs one request with header and the given extra headers and returns the decision and
// the DynamoDB operations it made.
func (f fixture) decide(t *testing.T, secret apikey.Key, extra ...string) (bool, []string) {
	t.Helper()
	f.calls.take()
	req := request("Bearer " + secret.Secret())
	for i := 0; i+1 < len(extra); i += 2 {
		req.Headers[extra[i]] = extra[i+1]
	}
	req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent = "198.51.100.7", "curl/8.5.0"
	resp, err := f.handler.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return resp.IsAuthorized, f.calls.take()
}

func wantCalls(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: DynamoDB calls %v, want %v", what, got, want)
	}
}

func TestExpiredKeyIsDenied(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	project := codex.NewID(codex.ProjectIDPrefix)
	expires := f.now.Add(time.Hour)
	_, secret := f.createKey(t, project, expires)

	ok, ops := f.decide(t, secret)
	if !ok {
		t.Fatal("a key an hour before its expiry is refused")
	}
	wantCalls(t, "first use", ops, "GetItem", "UpdateItem")

	*f.now = expires.Add(-time.Millisecond)
	if ok, ops = f.decide(t, secret); !ok {
		t.Fatal("a key a millisecond before its expiry is refused")
	}
	wantCalls(t, "just before expiry", ops, "GetItem", "UpdateItem") // the last use was an hour ago

	*f.now = expires
	ok, ops = f.decide(t, secret)
	if ok {
		t.Fatal("a key at its expiry is allowed")
	}
	wantCalls(t, "expired", ops, "GetItem")
	if !strings.Contains(f.logs.String(), `"reason":"expired"`) {
		t.Fatalf("the refusal's reason is not logged: %s", f.logs.String())
	}
}

// TestRolledKeyGrace: after a roll with a grace period both keys work until the grace ends; from
// then on only the new one does.
func TestRolledKeyGrace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	project := codex.NewID(codex.ProjectIDPrefix)
	old, oldSecret := f.createKey(t, project)
	newSecret, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	rolledAt := *f.now
	graceEnds := rolledAt.Add(time.Hour)
	_, err = f.store.RollKey(context.Background(), codex.RollKey{
		ProjectID: project, OldKeyID: old.ID, HashVersion: apikey.HashVersion, Hash: newSecret.Hash(), GraceEnds: graceEnds,
		New:   codex.APIKey{ID: codex.NewID(codex.KeyIDPrefix), ProjectID: project, Prefix: newSecret.DisplayPrefix(), CreatedAt: rolledAt},
		Audit: codex.AuditEvent{ID: codex.NewID(codex.AuditIDPrefix), ProjectID: project, Action: codex.AuditKeyRolled, At: rolledAt},
	})
	if err != nil {
		t.Fatal(err)
	}

	// In the grace period: both work; once each has a recent use, each costs one GetItem.
	*f.now = rolledAt.Add(30 * time.Minute)
	for name, s := range map[string]apikey.Key{"old": oldSecret, "new": newSecret} {
		if ok, _ := f.decide(t, s); !ok {
			t.Fatalf("in the grace period the %s key is refused", name)
		}
		ok, ops := f.decide(t, s)
		if !ok {
			t.Fatalf("in the grace period the %s key is refused", name)
		}
		wantCalls(t, "in the grace period, "+name+" key", ops, "GetItem")
	}

	// Past the grace: the old key is refused with one GetItem, the new one still works.
	*f.now = graceEnds
	ok, ops := f.decide(t, oldSecret)
	if ok {
		t.Fatal("the old key works past its grace period")
	}
	wantCalls(t, "old key past the grace", ops, "GetItem")
	if ok, _ := f.decide(t, newSecret); !ok {
		t.Fatal("the new key is refused past the old one's grace period")
	}
}

func TestBrowserRequestIsRefusedAndAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	project := codex.NewID(codex.ProjectIDPrefix)
	k, secret := f.createKey(t, project)

	ok, ops := f.decide(t, secret, "origin", "https://shop.example.com")
	if ok {
		t.Fatal("a request with an Origin header is allowed")
	}
	// One read and the audit record: no last-use write.
	wantCalls(t, "browser, first", ops, "GetItem", "PutItem")
	// The same page calling again within the interval: refused, not recorded again.
	*f.now = f.now.Add(time.Minute)
	ok, ops = f.decide(t, secret, "sec-fetch-mode", "cors", "sec-fetch-site", "cross-site")
	if ok {
		t.Fatal("a request with Sec-Fetch-Mode: cors and Sec-Fetch-Site is allowed")
	}
	wantCalls(t, "browser, again", ops, "GetItem")
	for _, mode := range []string{"navigate", "no-cors", "CORS"} {
		if ok, _ := f.decide(t, secret, "sec-fetch-mode", mode, "sec-fetch-dest", "document"); ok {
			t.Fatalf("a request with Sec-Fetch-Mode: %s and Sec-Fetch-Dest is allowed", mode)
		}
	}
	if !strings.Contains(f.logs.String(), "exposed to a web browser") {
		t.Fatalf("the refusal's reason is not logged: %s", f.logs.String())
	}

	events, _, err := f.store.ListAudit(context.Background(), project, f.now.Add(time.Second), 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var refusals []codex.AuditEvent
	for _, e := range events {
		if e.Action == codex.AuditKeyBrowserRefused {
			refusals = append(refusals, e)
		}
	}
	if len(refusals) != 1 || refusals[0].KeyID != k.ID || refusals[0].SourceIP != "198.51.100.7" ||
		refusals[0].UserAgent != "curl/8.5.0" || !strings.Contains(refusals[0].Reason, "Origin") || refusals[0].Actor != codex.SystemActor {
		t.Fatalf("audit log %+v; want one browser refusal of %s with its source", events, k.ID)
	}

	// The key itself still works from a server.
	if ok, _ := f.decide(t, secret); !ok {
		t.Fatal("the key is refused without browser headers")
	}
	if ok, _ := f.decide(t, secret, "sec-fetch-mode", "same-origin", "sec-fetch-site", "same-origin"); !ok {
		t.Fatal("Sec-Fetch-Mode: same-origin is refused; only cors, navigate and no-cors are")
	}
}

// TestBrowserReason runs the headers each client sends, as measured against a local listener
// (docs/keys.md), and those browsers send.
func TestBrowserReason(t *testing.T) {
	for _, c := range []struct {
		client  string
		headers map[string]string
		browser bool
	}{
		{"curl 7.88", map[string]string{"accept": "*/*", "user-agent": "curl/7.88.1"}, false},
		{"Go net/http", map[string]string{"accept-encoding": "gzip", "user-agent": "Go-http-client/1.1"}, false},
		{"Node 20 fetch", map[string]string{"accept": "*/*", "accept-encoding": "gzip, deflate", "accept-language": "*",
			"connection": "keep-alive", "sec-fetch-mode": "cors", "user-agent": "node"}, false},
		{"Python urllib", map[string]string{"accept-encoding": "identity", "connection": "close", "user-agent": "Python-urllib/3.11"}, false},
		{"Python requests", map[string]string{"accept": "*/*", "accept-encoding": "gzip, deflate", "connection": "keep-alive",
			"user-agent": "python-requests/2.34.2"}, false},
		{"browser fetch from a page", map[string]string{"origin": "https://shop.example", "sec-fetch-mode": "cors",
			"sec-fetch-site": "cross-site", "sec-fetch-dest": "empty"}, true},
		{"browser navigation", map[string]string{"sec-fetch-mode": "navigate", "sec-fetch-site": "none", "sec-fetch-dest": "document"}, true},
		{"browser no-cors load", map[string]string{"sec-fetch-mode": "no-cors", "sec-fetch-site": "cross-site", "sec-fetch-dest": "image"}, true},
		{"an Origin alone", map[string]string{"origin": "null"}, true},
	} {
		if got := BrowserReason(c.headers) != ""; got != c.browser {
			t.Errorf("%s: browser %v, want %v (%q)", c.client, got, c.browser, BrowserReason(c.headers))
		}
	}
}

// TestLastUsedIsWrittenOnlyWhenStale: a use is written when none is stored or the stored one is
// older than the interval, never otherwise, and shows in the list.
func TestLastUsedIsWrittenOnlyWhenStale(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	project := codex.NewID(codex.ProjectIDPrefix)
	k, secret := f.createKey(t, project)
	start := *f.now

	_, ops := f.decide(t, secret)
	wantCalls(t, "never used", ops, "GetItem", "UpdateItem")
	*f.now = start.Add(codex.LastUsedInterval)
	_, ops = f.decide(t, secret)
	wantCalls(t, "used exactly one interval ago", ops, "GetItem")
	*f.now = start.Add(codex.LastUsedInterval + time.Millisecond)
	_, ops = f.decide(t, secret)
	wantCalls(t, "stale", ops, "GetItem", "UpdateItem")

	keys, err := f.store.ListKeys(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID != k.ID || !keys[0].LastUsed.At.Equal(*f.now) ||
		keys[0].LastUsed.IP != "198.51.100.7" || keys[0].LastUsed.UserAgent != "curl/8.5.0" {
		t.Fatalf("listed %+v; want last used at %s from 198.51.100.7, curl/8.5.0", keys, f.now)
	}

	// Another instance that read the key before this write must not overwrite it: the condition
	// holds the write back.
	if err := f.store.RecordKeyUse(context.Background(), secret.Hash(), codex.KeyUse{At: f.now.Add(time.Minute), IP: "203.0.113.9"}); err != nil {
		t.Fatal(err)
	}
	keys, _ = f.store.ListKeys(context.Background(), project)
	if keys[0].LastUsed.IP != "198.51.100.7" {
		t.Fatalf("a use a minute after the recorded one was written: %+v", keys[0].LastUsed)
	}
}

// TestFailedLastUseWriteAllows: the write is best effort; the request is allowed and the failure
// logged.
func TestFailedLastUseWriteAllows(t *testing.T) {
	t.Parallel()
	secret, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	h := New(&codextest.KeyLookup{
		LookupKeyFn: func(context.Context, string) (codex.KeyGrant, error) {
			return codex.KeyGrant{Principal: codex.Principal{ProjectID: "prj_X", KeyID: "key_X"}}, nil
		},
		RecordKeyUseFn: func(context.Context, string, codex.KeyUse) error { return errors.New("throttled") },
	}, slog.New(slog.NewJSONHandler(&logs, nil)), time.Now)
	resp, err := h.Handle(context.Background(), request("Bearer "+secret.Secret()))
	if err != nil || !resp.IsAuthorized {
		t.Fatalf("got %+v, %v; want allowed despite the failed write", resp, err)
	}
	if !strings.Contains(logs.String(), "last use not recorded") {
		t.Fatalf("the failed write is not logged: %s", logs.String())
	}
}
