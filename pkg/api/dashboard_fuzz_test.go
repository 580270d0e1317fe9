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
	"codex/pkg/codex/codextest"
)

// Fuzz targets for the request decoders not covered elsewhere: the dashboard's create bodies
// (project, key, button) and the query string of GET /v1/checkouts. Each runs the whole route
// through Handler, over fakes of the stores (codextest) that record what would be written, and checks one
// property: the answer is a success that stored exactly what it reports, or a 4xx in the envelope
// that stored nothing; never a 5xx and never a secret in the log.

// fuzzMember returns a copy of the dashboard fixture request (read once into fixture), the
// membership of its user in a project it owns, and a project store holding that membership.
func fuzzMember(t *testing.T, fixture []byte) (Request, codex.Membership, *codextest.ProjectStore) {
	var req Request
	if err := json.Unmarshal(fixture, &req); err != nil {
		t.Fatal(err)
	}
	user := req.RequestContext.Authorizer.JWT.Claims["sub"]
	p := codex.Project{ID: codex.NewID(codex.ProjectIDPrefix), Name: "Shop", CreatedBy: user, CreatedAt: time.Now()}
	member := codex.Membership{UserID: user, Role: codex.RoleOwner, Project: p}
	return req, member, &codextest.ProjectStore{
		MembershipFn: func(_ context.Context, user, id string) (codex.Membership, error) {
			if user != member.UserID || id != member.Project.ID {
				return codex.Membership{}, codex.NotFound("project")
			}
			return member, nil
		},
	}
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
		req, _, projects := fuzzMember(t, fixture)
		req.Body = body
		var created []codex.Project
		projects.CreateProjectFn = func(_ context.Context, p codex.Project) error {
			created = append(created, p)
			return nil
		}
		resp, _ := serveFuzz(t, CreateProject{Projects: projects, Now: time.Now}, req)
		if resp.StatusCode != http.StatusCreated {
			if len(created) != 0 {
				t.Fatalf("%d, yet a project was stored", resp.StatusCode)
			}
			return
		}
		if len(created) != 1 {
			t.Fatalf("201 with %d projects stored", len(created))
		}
		p := created[0]
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
		req, member, projects := fuzzMember(t, fixture)
		req.RouteKey = "POST /projects/{project_id}/keys"
		req.PathParameters = map[string]string{"project_id": member.Project.ID}
		req.Body = body
		// The key store records created keys with their hashes.
		var created []codex.APIKey
		var hashes []string
		keys := &codextest.KeyStore{CreateKeyFn: func(_ context.Context, k codex.APIKey, hash string, version int, _ codex.AuditEvent) error {
			if version != apikey.HashVersion {
				return codex.Errorf(codex.CodeInternal, "hash version %d", version)
			}
			created, hashes = append(created, k), append(hashes, hash)
			return nil
		}}
		resp, logs := serveFuzz(t, CreateKey{Projects: projects, Keys: keys, Now: time.Now}, req)
		if resp.StatusCode != http.StatusCreated {
			if len(created) != 0 {
				t.Fatalf("%d, yet a key was stored", resp.StatusCode)
			}
			return
		}
		if len(created) != 1 {
			t.Fatalf("201 with %d keys stored", len(created))
		}
		k := created[0]
		wantStoredName(t, "name", k.Name, codex.MaxNameLength)
		var v keyView
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
			t.Fatal(err)
		}
		secret, err := apikey.Parse(v.Secret)
		if err != nil || secret.Hash() != hashes[0] || secret.DisplayPrefix() != k.Prefix || v.Prefix != k.Prefix ||
			v.ID != k.ID || v.Name != k.Name || k.ProjectID != member.Project.ID {
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
		req, member, projects := fuzzMember(t, fixture)
		req.RouteKey = "POST /projects/{project_id}/buttons"
		req.PathParameters = map[string]string{"project_id": member.Project.ID}
		req.Body = body
		var created []codex.Button
		buttons := &codextest.ButtonStore{CreateButtonFn: func(_ context.Context, b codex.Button) error {
			created = append(created, b)
			return nil
		}}
		resp, _ := serveFuzz(t, CreateButton{Projects: projects, Buttons: buttons, Now: time.Now}, req)
		if resp.StatusCode != http.StatusCreated {
			if len(created) != 0 {
				t.Fatalf("%d, yet a button was stored", resp.StatusCode)
			}
			return
		}
		if len(created) != 1 {
			t.Fatalf("201 with %d buttons stored", len(created))
		}
		b := created[0]
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
			b.ProjectID != member.Project.ID {
			t.Fatalf("answer %s for stored %+v", resp.Body, b)
		}
	})
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
		// The checkout store records the list parameters it is asked for; exists says whether
		// starting_after names a checkout of the project.
		var calls, limit int
		var after string
		store := &codextest.CheckoutStore{ListCheckoutsFn: func(_ context.Context, _ string, l int, a string) ([]codex.Checkout, bool, error) {
			calls, limit, after = calls+1, l, a
			if a != "" && !exists {
				return nil, false, codex.NotFound("checkout")
			}
			return nil, false, nil
		}}
		resp, _ := serveFuzz(t, ListCheckouts{Checkouts{Store: store, Now: time.Now, PageURL: testPageURL}}, req)
		if resp.StatusCode != http.StatusOK {
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("%q: %d %s", raw, resp.StatusCode, resp.Body)
			}
			if calls > 0 && !(after != "" && !exists) {
				t.Fatalf("%q: refused after reading the store", raw)
			}
			return
		}
		if calls != 1 || limit < 1 || limit > MaxListLimit ||
			(after != "" && !codex.ValidID(codex.CheckoutIDPrefix, after)) {
			t.Fatalf("%q: the store was asked for limit %d after %q (%d calls)", raw, limit, after, calls)
		}
		for k := range req.QueryStringParameters {
			if k != "limit" && k != "starting_after" {
				t.Fatalf("%q: unknown parameter %q accepted", raw, k)
			}
		}
	})
}
