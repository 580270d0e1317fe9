package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"codex/pkg/apikey"
	"codex/pkg/codex"
)

// Fuzz targets for the request decoders not covered elsewhere: the dashboard's create bodies
// (project, key, button) and the query string of GET /v1/checkouts. Each runs the whole route
// through Handler, over in-memory stores that record what would be written, and checks one
// property: the answer is a success that stored exactly what it reports, or a 4xx in the envelope
// that stored nothing; never a 5xx and never a secret in the log.

// memProjects is a ProjectStore with one project the fuzzed user is a member of.
type memProjects struct {
	member  codex.Membership
	created []codex.Project
}

func (m *memProjects) CreateProject(_ context.Context, p codex.Project) error {
	m.created = append(m.created, p)
	return nil
}

func (m *memProjects) ListProjects(context.Context, string) ([]codex.Project, error) {
	return nil, nil
}

func (m *memProjects) Membership(_ context.Context, user, id string) (codex.Membership, error) {
	if user != m.member.UserID || id != m.member.Project.ID {
		return codex.Membership{}, codex.NotFound("project")
	}
	return m.member, nil
}

// memKeys records created keys with their hashes.
type memKeys struct {
	created []codex.APIKey
	hashes  []string
}

func (m *memKeys) CreateKey(_ context.Context, k codex.APIKey, hash string, version int) error {
	if version != apikey.HashVersion {
		return codex.Errorf(codex.CodeInternal, "hash version %d", version)
	}
	m.created, m.hashes = append(m.created, k), append(m.hashes, hash)
	return nil
}

func (m *memKeys) ListKeys(context.Context, string) ([]codex.APIKey, error) { return nil, nil }
func (m *memKeys) DeleteKey(context.Context, string, string) error          { return codex.NotFound("key") }

// memButtonStore records created buttons.
type memButtonStore struct{ created []codex.Button }

func (m *memButtonStore) CreateButton(_ context.Context, b codex.Button) error {
	m.created = append(m.created, b)
	return nil
}
func (m *memButtonStore) ListButtons(context.Context, string) ([]codex.Button, error) {
	return nil, nil
}
func (m *memButtonStore) GetButton(context.Context, string, string) (codex.Button, error) {
	return codex.Button{}, codex.NotFound("button")
}
func (m *memButtonStore) ArchiveButton(context.Context, string, string, time.Time) error {
	return codex.NotFound("button")
}

// fuzzMember returns a copy of the dashboard fixture request (read once into fixture) and a store
// holding one project its user owns.
func fuzzMember(t *testing.T, fixture []byte) (Request, *memProjects) {
	var req Request
	if err := json.Unmarshal(fixture, &req); err != nil {
		t.Fatal(err)
	}
	user := req.RequestContext.Authorizer.JWT.Claims["sub"]
	p := codex.Project{ID: codex.NewID(codex.ProjectIDPrefix), Name: "Shop", CreatedBy: user, CreatedAt: time.Now()}
	return req, &memProjects{member: codex.Membership{UserID: user, Role: codex.RoleOwner, Project: p}}
}

func readFixture(f *testing.F, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// serveFuzz runs route on req and checks what every answer must satisfy: a 2xx or a 4xx in the
// error envelope, never a 5xx or a Go error. It returns the response and the handler's log.
func serveFuzz(t *testing.T, route Route, req Request) (Response, string) {
	t.Helper()
	var logs bytes.Buffer
	resp, err := Handler(slog.New(slog.NewJSONHandler(&logs, nil)), route)(context.Background(), req)
	if err != nil {
		t.Fatalf("Go error: %v", err)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		var e struct {
			Error struct {
				Type, Code, Message string
			} `json:"error"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Type == "" || e.Error.Code == "" ||
			e.Error.Message == "" || e.RequestID != req.RequestContext.RequestID {
			t.Fatalf("%d without the error envelope: %s", resp.StatusCode, resp.Body)
		}
	default:
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	return resp, logs.String()
}

// wantStoredName checks that a stored name is one ValidateName accepts unchanged.
func wantStoredName(t *testing.T, param, name string, max int) {
	t.Helper()
	if got, err := codex.ValidateLabel(param, name, max); err != nil || got != name {
		t.Fatalf("stored %s %q does not pass its own validation: %v", param, name, err)
	}
}

var nameSeeds = []string{
	``, `{}`, `{"name":"My shop"}`, `{"name":"  padded  "}`, `{"name":""}`, `{"name":"   "}`,
	`{"name":"` + strings.Repeat("é", 100) + `"}`, `{"name":"` + strings.Repeat("a", 101) + `"}`,
	`{"name":"a\u0000b"}`, `{"name":"tab\there"}`, `{"name":"\u2028"}`, `{"name":"\ud800"}`,
	`{"name":1}`, `{"name":null}`, `{"name":["a"]}`, `{"name":{"a":1}}`, `{"name":true}`,
	`{"name":"a","name":"b"}`, `{"Name":"a"}`, `{"NAME":"a","name":"b"}`, `{"name":"a","id":"prj_X"}`,
	`{"name":"a"}x`, `{"name":"a"}{}`, `[{"name":"a"}]`, `"name"`, `null`, `{"name":"a"`,
	"{\"name\":\"\xff\"}", "{\"name\":\"a\x00\"}", `{"name":"🛒 Café"}`,
	`{"name":"a\u202eb"}`, "{\"name\":\"\u200b\"}", "{\"name\":\"x\u200d\ufeff\"}",
}

func FuzzCreateProjectBody(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	fixture := readFixture(f, "dashboard-request.json")
	f.Fuzz(func(t *testing.T, body string) {
		req, projects := fuzzMember(t, fixture)
		req.Body = body
		resp, _ := serveFuzz(t, CreateProject{Projects: projects, Now: time.Now}, req)
		if resp.StatusCode != http.StatusCreated {
			if len(projects.created) != 0 {
				t.Fatalf("%d, yet a project was stored", resp.StatusCode)
			}
			return
		}
		if len(projects.created) != 1 {
			t.Fatalf("201 with %d projects stored", len(projects.created))
		}
		p := projects.created[0]
		wantStoredName(t, "name", p.Name, codex.MaxNameLength)
		var v projectView
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || v != viewProject(p) ||
			p.CreatedBy != req.RequestContext.Authorizer.JWT.Claims["sub"] || !codex.ValidID(codex.ProjectIDPrefix, p.ID) {
			t.Fatalf("answer %s for stored %+v", resp.Body, p)
		}
	})
}

func FuzzCreateKeyBody(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	fixture := readFixture(f, "dashboard-request.json")
	f.Fuzz(func(t *testing.T, body string) {
		req, projects := fuzzMember(t, fixture)
		req.RouteKey = "POST /projects/{project_id}/keys"
		req.PathParameters = map[string]string{"project_id": projects.member.Project.ID}
		req.Body = body
		keys := &memKeys{}
		resp, logs := serveFuzz(t, CreateKey{Projects: projects, Keys: keys, Now: time.Now}, req)
		if resp.StatusCode != http.StatusCreated {
			if len(keys.created) != 0 {
				t.Fatalf("%d, yet a key was stored", resp.StatusCode)
			}
			return
		}
		if len(keys.created) != 1 {
			t.Fatalf("201 with %d keys stored", len(keys.created))
		}
		k := keys.created[0]
		wantStoredName(t, "name", k.Name, codex.MaxNameLength)
		var v keyView
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
			t.Fatal(err)
		}
		secret, err := apikey.Parse(v.Secret)
		if err != nil || secret.Hash() != keys.hashes[0] || secret.DisplayPrefix() != k.Prefix || v.Prefix != k.Prefix ||
			v.ID != k.ID || v.Name != k.Name || k.ProjectID != projects.member.Project.ID {
			t.Fatalf("answer %s for stored %+v (parse: %v)", resp.Body, k, err)
		}
		if strings.Contains(logs, v.Secret) || strings.Contains(logs, v.Secret[len(k.Prefix):]) {
			t.Fatal("the handler logged the new key")
		}
	})
}

func FuzzCreateButtonBody(f *testing.F) {
	const ok = `{"name":"Poster A2","unit_amount":2500,"currency":"eur","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/back"}`
	for _, s := range []string{
		ok, ``, `{}`,
		`{"name":"x","unit_amount":1,"currency":"JPY","success_url":"http://localhost/a","cancel_url":"http://[::1]:8080/b"}`,
		`{"name":"x","unit_amount":99999999,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":100000000,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":0,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":19.99,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":1e3,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":"100","currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":-1,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":9223372036854775808,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":1,"currency":"xxx","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":1,"currency":"usd","success_url":"javascript:alert(1)","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":1,"currency":"usd","success_url":"https://u:p@a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":1,"currency":"usd","success_url":"http://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":1,"currency":"usd","success_url":"https://a.example/ x","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":1,"unit_amount":2,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"x","unit_amount":1,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example","active":false}`,
		`{"name":"x","unit_amount":null,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
		`{"name":"\u0000","unit_amount":1,"currency":"usd","success_url":"https://a.example","cancel_url":"https://b.example"}`,
	} {
		f.Add(s)
	}
	fixture := readFixture(f, "dashboard-request.json")
	f.Fuzz(func(t *testing.T, body string) {
		req, projects := fuzzMember(t, fixture)
		req.RouteKey = "POST /projects/{project_id}/buttons"
		req.PathParameters = map[string]string{"project_id": projects.member.Project.ID}
		req.Body = body
		buttons := &memButtonStore{}
		resp, _ := serveFuzz(t, CreateButton{Projects: projects, Buttons: buttons, Now: time.Now}, req)
		if resp.StatusCode != http.StatusCreated {
			if len(buttons.created) != 0 {
				t.Fatalf("%d, yet a button was stored", resp.StatusCode)
			}
			return
		}
		if len(buttons.created) != 1 {
			t.Fatalf("201 with %d buttons stored", len(buttons.created))
		}
		b := buttons.created[0]
		// What was stored passes validation unchanged, so every checkout made from it will too.
		again, err := codex.ButtonParams{Name: b.Name, UnitAmount: &b.UnitAmount, Currency: b.Currency,
			SuccessURL: b.SuccessURL, CancelURL: b.CancelURL}.Validate()
		if err != nil || again.Name != b.Name || again.Currency != b.Currency {
			t.Fatalf("stored button %+v does not pass its own validation: %v", b, err)
		}
		one := int64(1)
		if _, err := b.CheckoutParams(codex.ButtonCheckoutParams{Quantity: &one}); err != nil {
			t.Fatalf("stored button %+v makes no valid checkout: %v", b, err)
		}
		var v buttonView
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || v != viewButton(b) || !b.Active ||
			b.ProjectID != projects.member.Project.ID {
			t.Fatalf("answer %s for stored %+v", resp.Body, b)
		}
	})
}

// listRecorder is a CheckoutStore that records the list parameters it is asked for.
type listRecorder struct {
	calls  int
	limit  int
	after  string
	exists bool // whether starting_after names a checkout of the project
}

func (l *listRecorder) CreateCheckout(context.Context, codex.Checkout, *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
	return nil, codex.Errorf(codex.CodeInternal, "list must not create")
}
func (l *listRecorder) GetCheckout(context.Context, string, string) (codex.Checkout, error) {
	return codex.Checkout{}, codex.NotFound("checkout")
}
func (l *listRecorder) ListCheckouts(_ context.Context, _ string, limit int, after string) ([]codex.Checkout, bool, error) {
	l.calls, l.limit, l.after = l.calls+1, limit, after
	if after != "" && !l.exists {
		return nil, false, codex.NotFound("checkout")
	}
	return nil, false, nil
}

// FuzzListCheckoutsQuery feeds GET /v1/checkouts raw query strings, turned into
// queryStringParameters as API Gateway does (repeated names joined with commas). The store is asked
// only for a limit of 1 to 100 and a well-formed starting_after; anything else is a 400 naming the
// parameter, before any read.
func FuzzListCheckoutsQuery(f *testing.F) {
	for _, s := range []string{
		"", "limit=10", "limit=1", "limit=100", "limit=0", "limit=101", "limit=-1", "limit=+5", "limit=1e2",
		"limit=1&limit=2", "limit=%31%30", "limit=99999999999999999999", "limit= 5", "limit=５",
		"starting_after=chk_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "starting_after=chk_abcdefghijklmnopqrstuvwxyz",
		"starting_after=prj_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "starting_after=", "starting_after=chk_%00",
		"startingAfter=chk_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "limit=5&starting_after=chk_ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"LIMIT=5", "limit", "&&&", "a=1&b=2", "%zz", "limit=5;starting_after=x", "expand[]=line_items",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, exists bool) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return // API Gateway refuses a query string it cannot decode
		}
		req := merchantRequest("", nil)
		req.RouteKey = "GET /v1/checkouts"
		req.RawQueryString = raw
		if len(values) > 0 {
			req.QueryStringParameters = map[string]string{}
			for k, vs := range values {
				req.QueryStringParameters[k] = strings.Join(vs, ",")
			}
		}
		store := &listRecorder{exists: exists}
		resp, _ := serveFuzz(t, ListCheckouts{Checkouts{Store: store, Now: time.Now, PageURL: testPageURL}}, req)
		if resp.StatusCode != http.StatusOK {
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("%q: %d %s", raw, resp.StatusCode, resp.Body)
			}
			if store.calls > 0 && !(store.after != "" && !exists) {
				t.Fatalf("%q: refused after reading the store", raw)
			}
			return
		}
		if store.calls != 1 || store.limit < 1 || store.limit > MaxListLimit ||
			(store.after != "" && !codex.ValidID(codex.CheckoutIDPrefix, store.after)) {
			t.Fatalf("%q: the store was asked for limit %d after %q (%d calls)", raw, store.limit, store.after, store.calls)
		}
		for k := range req.QueryStringParameters {
			if k != "limit" && k != "starting_after" {
				t.Fatalf("%q: unknown parameter %q accepted", raw, k)
			}
		}
	})
}
