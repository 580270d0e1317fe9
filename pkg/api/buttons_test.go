package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"codex/infra/samtemplate"
	"codex/pkg/codex"
)

const buttonBody = `{"name":"  Poster A2 ","unit_amount":2500,"currency":"EUR",` +
	`"success_url":"https://shop.example/thanks","cancel_url":"https://shop.example/poster"}`

// buttonWith returns buttonBody with one field set to raw JSON, or removed when raw is "".
func buttonWith(t *testing.T, field, raw string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(buttonBody), &m); err != nil {
		t.Fatal(err)
	}
	if raw == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// keysOf decodes a JSON object and returns its keys, sorted.
func keysOf(t *testing.T, body string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return slices.Sorted(maps.Keys(m))
}

func wantKeys(t *testing.T, body string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keysOf(t, body); !slices.Equal(got, want) {
		t.Fatalf("keys %v, want exactly %v in %s", got, want, body)
	}
}

const (
	rkCreateButton   = "POST /projects/{project_id}/buttons"
	rkListButtons    = "GET /projects/{project_id}/buttons"
	rkDeleteButton   = "DELETE /projects/{project_id}/buttons/{button_id}"
	rkPublicButton   = "GET /public/projects/{project_id}/buttons/{button_id}"
	rkPublicCheckout = "POST /public/projects/{project_id}/buttons/{button_id}/checkouts"
	rkBuyerView      = "GET /public/checkouts/{checkout_id}"
	rkCheckoutPage   = "GET /c/{checkout_id}"
	rkPay            = "POST /c/{checkout_id}/pay"
)

// TestWorldServesEveryTemplateRoute keeps the harness honest: it serves exactly template.yaml's
// routes, so the OpenAPI validation of its responses covers every route.
func TestWorldServesEveryTemplateRoute(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range tpl.Routes() {
		want = append(want, r.Method+" "+r.Path)
	}
	if got := slices.Sorted(maps.Keys(worldRoutes(t, nil, nil))); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("harness routes\n%v\ntemplate routes\n%v", got, want)
	}
}

func TestButtonDashboardRoutes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	pp := map[string]string{"project_id": project}

	resp := w.dashboard("alice", rkCreateButton, pp, buttonBody)
	wantStatus(t, resp, http.StatusCreated)
	wantKeys(t, resp.Body, "id", "name", "unit_amount", "currency", "success_url", "cancel_url", "created_at", "active")
	first := decodeInto[buttonView](t, resp)
	if !codex.ValidID(codex.ButtonIDPrefix, first.ID) || first.Name != "Poster A2" || first.UnitAmount != 2500 || first.Currency != "eur" ||
		first.SuccessURL != "https://shop.example/thanks" || first.CancelURL != "https://shop.example/poster" || !first.Active || first.CreatedAt == "" {
		t.Fatalf("created %+v", first)
	}
	second := w.button("alice", project, buttonWith(t, "name", `"Mug"`))

	list := decodeInto[List[buttonView]](t, w.dashboard("alice", rkListButtons, pp, ""))
	if len(list.Data) != 2 || list.Data[0] != second || list.Data[1] != first {
		t.Fatalf("list %+v, want [%+v %+v]", list.Data, second, first)
	}
	if empty := w.dashboard("bob", rkListButtons, map[string]string{"project_id": w.project("bob", "Bob's")}, ""); empty.Body != `{"data":[]}` {
		t.Fatalf("no buttons: %s", empty.Body)
	}

	// The checkout rules, under the button's own field names; nothing is created.
	for name, tc := range map[string]struct {
		body  string
		code  codex.Code
		param string
	}{
		"no name":             {buttonWith(t, "name", ""), codex.CodeParameterMissing, "name"},
		"blank name":          {buttonWith(t, "name", `"  "`), codex.CodeParameterMissing, "name"},
		"long name":           {buttonWith(t, "name", `"`+strings.Repeat("n", 251)+`"`), codex.CodeParameterInvalid, "name"},
		"number name":         {buttonWith(t, "name", `7`), codex.CodeParameterInvalid, "name"},
		"no unit_amount":      {buttonWith(t, "unit_amount", ""), codex.CodeParameterMissing, "unit_amount"},
		"null unit_amount":    {buttonWith(t, "unit_amount", "null"), codex.CodeParameterMissing, "unit_amount"},
		"zero unit_amount":    {buttonWith(t, "unit_amount", "0"), codex.CodeParameterInvalid, "unit_amount"},
		"huge unit_amount":    {buttonWith(t, "unit_amount", "100000000"), codex.CodeParameterInvalid, "unit_amount"},
		"fraction amount":     {buttonWith(t, "unit_amount", "19.99"), codex.CodeParameterInvalid, "unit_amount"},
		"exponent amount":     {buttonWith(t, "unit_amount", "1e3"), codex.CodeParameterInvalid, "unit_amount"},
		"string amount":       {buttonWith(t, "unit_amount", `"2500"`), codex.CodeParameterInvalid, "unit_amount"},
		"no currency":         {buttonWith(t, "currency", ""), codex.CodeParameterMissing, "currency"},
		"bad currency":        {buttonWith(t, "currency", `"euro"`), codex.CodeParameterInvalid, "currency"},
		"XTS currency":        {buttonWith(t, "currency", `"XTS"`), codex.CodeParameterInvalid, "currency"},
		"no success_url":      {buttonWith(t, "success_url", ""), codex.CodeParameterMissing, "success_url"},
		"http success_url":    {buttonWith(t, "success_url", `"http://shop.example/ok"`), codex.CodeParameterInvalid, "success_url"},
		"relative cancel_url": {buttonWith(t, "cancel_url", `"/back"`), codex.CodeParameterInvalid, "cancel_url"},
		"unknown field":       {buttonWith(t, "quantity", `3`), codex.CodeParameterUnknown, "quantity"},
		"not an object":       {`[]`, codex.CodeBodyInvalid, ""},
		"malformed":           {`{"name":`, codex.CodeBodyInvalid, ""},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, w.dashboard("alice", rkCreateButton, pp, tc.body), http.StatusBadRequest, tc.code, tc.param)
		})
	}
	if n := len(decodeInto[List[buttonView]](t, w.dashboard("alice", rkListButtons, pp, "")).Data); n != 2 {
		t.Fatalf("bad requests created buttons: %d, want 2", n)
	}

	// As for keys: a project the user is not a member of is indistinguishable from none.
	del := func(user, project, id string) Response {
		return w.dashboard(user, rkDeleteButton, map[string]string{"project_id": project, "button_id": id}, "")
	}
	for _, p := range []string{project, codex.NewID(codex.ProjectIDPrefix), "../etc"} {
		user := "bob"
		if p != project {
			user = "alice"
		}
		pp := map[string]string{"project_id": p}
		wantError(t, w.dashboard(user, rkCreateButton, pp, buttonBody), http.StatusNotFound, codex.CodeNotFound, "")
		wantError(t, w.dashboard(user, rkListButtons, pp, ""), http.StatusNotFound, codex.CodeNotFound, "")
		wantError(t, del(user, p, first.ID), http.StatusNotFound, codex.CodeNotFound, "")
	}

	// Archiving: only the project's own buttons, once; the button stays listed, inactive.
	bobProject := w.project("bob", "Bob's other")
	bobButton := w.button("bob", bobProject, buttonBody)
	wantError(t, del("alice", project, bobButton.ID), http.StatusNotFound, codex.CodeNotFound, "")
	wantError(t, del("alice", project, "btn_nope"), http.StatusNotFound, codex.CodeNotFound, "")
	if resp := del("alice", project, first.ID); resp.StatusCode != http.StatusNoContent || resp.Body != "" {
		t.Fatalf("delete: %d %q", resp.StatusCode, resp.Body)
	}
	wantError(t, del("alice", project, first.ID), http.StatusNotFound, codex.CodeNotFound, "")
	list = decodeInto[List[buttonView]](t, w.dashboard("alice", rkListButtons, pp, ""))
	archived := first
	archived.Active = false
	if len(list.Data) != 2 || list.Data[0] != second || list.Data[1] != archived {
		t.Fatalf("list after delete %+v", list.Data)
	}
	if b := decodeInto[List[buttonView]](t, w.dashboard("bob", rkListButtons, map[string]string{"project_id": bobProject}, "")).Data; len(b) != 1 || !b[0].Active {
		t.Fatalf("bob's button was touched: %+v", b)
	}
}

func TestPublicButton(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	b := w.button("alice", project, buttonBody)
	other := w.project("mallory", "Other")
	otherButton := w.button("mallory", other, buttonBody)

	get := func(project, button string) Response {
		return w.public(rkPublicButton, map[string]string{"project_id": project, "button_id": button}, "")
	}
	resp := get(project, b.ID)
	wantStatus(t, resp, http.StatusOK)
	wantKeys(t, resp.Body, "id", "name", "unit_amount", "currency")
	if v := decodeInto[publicButtonView](t, resp); v != (publicButtonView{ID: b.ID, Name: "Poster A2", UnitAmount: 2500, Currency: "eur"}) {
		t.Fatalf("public button %+v", v)
	}
	if resp.Headers["cache-control"] != "public, max-age=60" {
		t.Fatalf("cache-control %q", resp.Headers["cache-control"])
	}

	for name, ids := range map[string][2]string{
		"another project's button":   {project, otherButton.ID},
		"button under other project": {other, b.ID},
		"unknown button":             {project, codex.NewID(codex.ButtonIDPrefix)},
		"unknown project":            {codex.NewID(codex.ProjectIDPrefix), b.ID},
		"junk button id":             {project, "btn_../x"},
		"junk project id":            {"PROJECT", b.ID},
		"key id as button id":        {project, codex.NewID(codex.KeyIDPrefix)},
	} {
		t.Run(name, func(t *testing.T) { wantError(t, get(ids[0], ids[1]), http.StatusNotFound, codex.CodeNotFound, "") })
	}

	wantStatus(t, w.dashboard("alice", rkDeleteButton, map[string]string{"project_id": project, "button_id": b.ID}, ""), http.StatusNoContent)
	wantError(t, get(project, b.ID), http.StatusNotFound, codex.CodeNotFound, "")
}

// TestPublicCheckoutTampering: whatever a browser adds to the body besides quantity and
// client_reference_id is refused by name, and nothing is created, not even for a valid button.
func TestPublicCheckoutTampering(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	b := w.button("alice", project, buttonBody)
	pp := map[string]string{"project_id": project, "button_id": b.ID}
	before := itemCount(t, w.tables)

	for name, tc := range map[string]struct {
		body   string
		status int
		code   codex.Code
		param  string
	}{
		"price":                     {`{"price":1}`, 400, codex.CodeParameterUnknown, "price"},
		"unit_amount":               {`{"quantity":1,"unit_amount":1}`, 400, codex.CodeParameterUnknown, "unit_amount"},
		"amount":                    {`{"amount":1}`, 400, codex.CodeParameterUnknown, "amount"},
		"amount_total":              {`{"amount_total":1}`, 400, codex.CodeParameterUnknown, "amount_total"},
		"currency":                  {`{"currency":"jpy"}`, 400, codex.CodeParameterUnknown, "currency"},
		"name":                      {`{"name":"Free poster"}`, 400, codex.CodeParameterUnknown, "name"},
		"line_items":                {`{"line_items":[{"name":"x","unit_amount":1,"quantity":1}]}`, 400, codex.CodeParameterUnknown, "line_items"},
		"metadata":                  {`{"metadata":{"a":"b"}}`, 400, codex.CodeParameterUnknown, "metadata"},
		"success_url":               {`{"success_url":"https://evil.example/"}`, 400, codex.CodeParameterUnknown, "success_url"},
		"project_id":                {`{"project_id":"prj_X"}`, 400, codex.CodeParameterUnknown, "project_id"},
		"expires_in":                {`{"expires_in":86400}`, 400, codex.CodeParameterUnknown, "expires_in"},
		"duplicate quantity":        {`{"quantity":1,"quantity":100}`, 400, codex.CodeBodyInvalid, ""},
		"quantity 0":                {`{"quantity":0}`, 400, codex.CodeParameterInvalid, "quantity"},
		"quantity 101":              {`{"quantity":101}`, 400, codex.CodeParameterInvalid, "quantity"},
		"negative quantity":         {`{"quantity":-1}`, 400, codex.CodeParameterInvalid, "quantity"},
		"fractional quantity":       {`{"quantity":1.5}`, 400, codex.CodeParameterInvalid, "quantity"},
		"string quantity":           {`{"quantity":"2"}`, 400, codex.CodeParameterInvalid, "quantity"},
		"empty client_reference_id": {`{"client_reference_id":""}`, 400, codex.CodeParameterInvalid, "client_reference_id"},
		"long client_reference_id":  {`{"client_reference_id":"` + strings.Repeat("r", 201) + `"}`, 400, codex.CodeParameterInvalid, "client_reference_id"},
		"array body":                {`[{"quantity":1}]`, 400, codex.CodeBodyInvalid, ""},
		"malformed":                 {`{"quantity":`, 400, codex.CodeBodyInvalid, ""},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, w.public(rkPublicCheckout, pp, tc.body), tc.status, tc.code, tc.param)
		})
	}

	// A form post (no preflight needed) is refused too: bodies are JSON only.
	req := fixtureRequest(t, "public-request.json")
	req.RouteKey, req.PathParameters, req.Body = rkPublicCheckout, pp, "quantity=1&unit_amount=1"
	req.Headers["content-type"] = "application/x-www-form-urlencoded"
	wantError(t, w.call(req), http.StatusUnsupportedMediaType, codex.CodeUnsupportedMedia, "")

	if after := itemCount(t, w.tables); after != before {
		t.Fatalf("refused requests changed the tables: %d items before, %d after", before, after)
	}
}

// TestButtonBuyerFlow is the whole flow at the handler level: a merchant creates a button, a
// buyer's browser renders it and creates a checkout, the hosted page shows the buyer's view, the
// merchant sees the checkout with its key; archiving stops the button but not its checkouts.
func TestButtonBuyerFlow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	other := w.project("mallory", "Other")
	b := w.button("alice", project, buttonBody)
	pp := map[string]string{"project_id": project, "button_id": b.ID}

	// The snippet renders the button, then the buyer asks for three.
	wantStatus(t, w.public(rkPublicButton, pp, ""), http.StatusOK)
	resp := w.public(rkPublicCheckout, pp, `{"quantity":3,"client_reference_id":"cart-42"}`)
	wantStatus(t, resp, http.StatusCreated)
	wantKeys(t, resp.Body, "id", "url", "status", "amount_total", "currency", "expires_at")
	var created publicCheckoutCreated
	decodeStrict(t, resp.Body, &created)
	if !codex.ValidID(codex.CheckoutIDPrefix, created.ID) || created.URL != testPageURL+"/"+created.ID || created.Status != "open" ||
		created.AmountTotal != 7500 || created.Currency != "eur" {
		t.Fatalf("created %+v", created)
	}
	expires, err := time.Parse(time.RFC3339, created.ExpiresAt)
	if err != nil || expires.Sub(w.clock.Now()) > 24*time.Hour || expires.Sub(w.clock.Now()) < 24*time.Hour-time.Second {
		t.Fatalf("expires_at %s (now %s): want a day from now", created.ExpiresAt, w.clock.Now())
	}

	// An empty body buys one.
	one := w.public(rkPublicCheckout, pp, "")
	wantStatus(t, one, http.StatusCreated)
	if v := decodeInto[publicCheckoutCreated](t, one); v.AmountTotal != 2500 {
		t.Fatalf("empty body: %+v", v)
	}

	// The merchant's key sees a normal checkout of the project, in its list and by id.
	ids, _ := listIDs(t, w.merchant(project, "GET /v1/checkouts", nil, nil, ""))
	if !slices.Contains(ids, created.ID) || len(ids) != 2 {
		t.Fatalf("merchant list %v, want both button checkouts", ids)
	}
	merchantView := func() wireCheckout {
		t.Helper()
		resp := w.merchant(project, "GET /v1/checkouts/{checkout_id}", map[string]string{"checkout_id": created.ID}, nil, "")
		wantStatus(t, resp, http.StatusOK)
		var c wireCheckout
		decodeStrict(t, resp.Body, &c)
		return c
	}
	c := merchantView()
	if len(c.LineItems) != 1 || c.LineItems[0] != (codex.LineItem{Name: "Poster A2", UnitAmount: 2500, Quantity: 3}) ||
		c.AmountTotal != 7500 || c.Currency != "eur" || c.SuccessURL != b.SuccessURL || c.CancelURL != b.CancelURL ||
		c.ClientReferenceID == nil || *c.ClientReferenceID != "cart-42" || len(c.Metadata) != 0 || c.URL != created.URL {
		t.Fatalf("merchant view %+v", c)
	}
	// Another project's key does not.
	wantError(t, w.merchant(other, "GET /v1/checkouts/{checkout_id}", map[string]string{"checkout_id": created.ID}, nil, ""), http.StatusNotFound, codex.CodeNotFound, "")
	if ids, _ := listIDs(t, w.merchant(other, "GET /v1/checkouts", nil, nil, "")); len(ids) != 0 {
		t.Fatalf("another project lists %v", ids)
	}

	// The hosted page's view: what to pay and where to go, nothing private.
	buyerView := func() Response {
		t.Helper()
		resp := w.public(rkBuyerView, map[string]string{"checkout_id": created.ID}, "")
		wantStatus(t, resp, http.StatusOK)
		return resp
	}
	view := buyerView()
	wantKeys(t, view.Body, "id", "status", "amount_total", "currency", "line_items", "success_url", "cancel_url", "expires_at")
	var bv buyerCheckoutView
	decodeStrict(t, view.Body, &bv)
	if bv.ID != created.ID || bv.Status != "open" || bv.AmountTotal != 7500 || bv.Currency != "eur" || bv.ExpiresAt != created.ExpiresAt ||
		len(bv.LineItems) != 1 || bv.LineItems[0] != c.LineItems[0] || bv.SuccessURL != b.SuccessURL || bv.CancelURL != b.CancelURL {
		t.Fatalf("buyer view %+v", bv)
	}
	for _, private := range []string{project, "cart-42", "client_reference_id", "metadata", "key_", "created_at", b.ID} {
		if strings.Contains(view.Body, private) {
			t.Fatalf("the buyer view leaks %q: %s", private, view.Body)
		}
	}
	if view.Headers["cache-control"] != "no-store" {
		t.Fatalf("buyer view cache-control %q", view.Headers["cache-control"])
	}
	// A merchant's own checkout with metadata and a reference: the buyer view still hides them.
	own := w.merchant(project, "POST /v1/checkouts", nil, nil, `{"line_items":[{"name":"Tea","unit_amount":450,"quantity":2}],"currency":"usd",`+
		`"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart","client_reference_id":"order-9","metadata":{"secret":"s3cr3t"}}`)
	wantStatus(t, own, http.StatusCreated)
	ownView := w.public(rkBuyerView, map[string]string{"checkout_id": decodeInto[wireCheckout](t, own).ID}, "")
	wantStatus(t, ownView, http.StatusOK)
	wantKeys(t, ownView.Body, "id", "status", "amount_total", "currency", "line_items", "success_url", "cancel_url", "expires_at")
	for _, private := range []string{"order-9", "s3cr3t", "secret", project} {
		if strings.Contains(ownView.Body, private) {
			t.Fatalf("the buyer view leaks %q: %s", private, ownView.Body)
		}
	}
	wantError(t, w.public(rkBuyerView, map[string]string{"checkout_id": codex.NewID(codex.CheckoutIDPrefix)}, ""), http.StatusNotFound, codex.CodeNotFound, "")
	wantError(t, w.public(rkBuyerView, map[string]string{"checkout_id": b.ID}, ""), http.StatusNotFound, codex.CodeNotFound, "")

	// Archived: the button is gone publicly, its checkouts are not.
	wantStatus(t, w.dashboard("alice", rkDeleteButton, pp, ""), http.StatusNoContent)
	wantError(t, w.public(rkPublicButton, pp, ""), http.StatusNotFound, codex.CodeNotFound, "")
	wantError(t, w.public(rkPublicCheckout, pp, `{"quantity":1}`), http.StatusNotFound, codex.CodeNotFound, "")
	if got := merchantView(); got.ID != created.ID || got.Status != "open" {
		t.Fatalf("merchant view after archive %+v", got)
	}
	if after := buyerView(); after.Body != view.Body {
		t.Fatalf("buyer view changed after archive:\n%s\n%s", after.Body, view.Body)
	}
	if ids, _ := listIDs(t, w.merchant(project, "GET /v1/checkouts", nil, nil, "")); len(ids) != 3 {
		t.Fatalf("archiving created or removed checkouts: %v", ids)
	}

	// Expiry applies to the buyer view on read, as to the merchant's.
	w.clock.Add(24 * time.Hour)
	var expired buyerCheckoutView
	decodeStrict(t, buyerView().Body, &expired)
	if expired.Status != "expired" || merchantView().Status != "expired" {
		t.Fatalf("after expiry: buyer %q", expired.Status)
	}

	for _, secret := range []string{"cart-42"} {
		if strings.Contains(w.logs.String(), secret) {
			t.Fatal("a request body was logged")
		}
	}
}
