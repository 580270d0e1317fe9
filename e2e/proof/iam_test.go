package proof

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/e2e/e2etest"
	"codex/infra/dynamoproxy"
	"codex/infra/samtemplate"
	"codex/pkg/api"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
)

// TestIAMMatchesCalls proves each function's policy in template.yaml against the DynamoDB calls
// it really makes: the routes below run through the stack (the authorizer included), the proxy
// records every call with the function that signed it, and each function's calls must all be
// granted by its own policy while every action its policy grants must be used by them, on
// exactly the resources granted. So a call a deployed function would be refused, or a grant it
// does not need, fails here.
//
// The requests take every path that makes a call of its own: idempotent create and its replay,
// list with starting_after, the key delete, the button archive, the authorizer's lookup, a
// declined payment, a paid one and a payment of a paid checkout.
func TestIAMMatchesCalls(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exercised := map[string]bool{}
	do := func(fn, api, method, path string, header http.Header, body string, status int) string {
		t.Helper()
		exercised[fn] = true
		r := client.Call(t, api, method, path, header, body)
		e2etest.Want(t, r, status)
		if status == http.StatusCreated {
			return e2etest.Decode[struct{ ID string }](t, r).ID
		}
		return ""
	}

	proxy.StartRecording()
	m := newMerchant(t, "iam") // POST /projects, POST /projects/{id}/keys
	// For the sweeper: an overdue checkout to expire, and a paid one its index entry was left on
	// (written straight to moto, past the proxy, so not among the calls).
	seedOverdue(t, m.project, codex.CheckoutOpen)
	seedOverdue(t, m.project, codex.CheckoutComplete)
	exercised["CreateProjectFunction"], exercised["CreateKeyFunction"] = true, true
	exercised["SweepCheckoutsFunction"] = true
	swept, err := stack.RunSchedule(t.Context(), "SweepCheckoutsFunction")
	if err != nil {
		t.Fatal(err)
	}
	// Both paths that write: the expiring transaction and the index repair.
	if r := e2etest.Decode[struct{ Expired, Unindexed int }](t, e2etest.Response{Status: 200, Body: swept}); r.Expired < 1 || r.Unindexed < 1 {
		t.Errorf("the sweep answered %s; want a checkout expired and one unindexed", swept)
	}
	jwt, key, p := e2etest.Bearer(m.token), e2etest.Bearer(m.key), "/projects/"+m.project
	do("ListProjectsFunction", "", "GET", "/projects", jwt, "", http.StatusOK)
	do("ListKeysFunction", "", "GET", p+"/keys", jwt, "", http.StatusOK)
	_, spare := newKey(t, m, "spare")
	do("DeleteKeyFunction", "", "DELETE", p+"/keys/"+spare, jwt, "", http.StatusNoContent)

	do("WhoamiFunction", "", "GET", "/v1/whoami", key, "", http.StatusOK)
	exercised["AuthorizerFunction"] = true // every /v1 request; the first use of a key records it
	// A browser's request: refused, and the refusal recorded in the audit log.
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(m.key, "Origin", "https://shop.example"), ""), http.StatusForbidden)
	// Keys that expire: a roll and a leak report each move the pending key.expired event.
	rolled := newKeyFrom(t, m, `{"name":"expiring","expires_in":3600}`)
	do("RollKeyFunction", "", "POST", p+"/keys/"+rolled.id+"/roll", jwt, `{"expires_in":60}`, http.StatusCreated)
	leaked := newKeyFrom(t, m, `{"name":"leaked","expires_in":3600}`)
	report := `[{"token":"` + leaked.key + `","type":"codex_secret_key","url":"https://github.com/octo/shop/blob/1/.env","source":"content"}]`
	do("GithubSecretScanningFunction", "PublicApi", "POST", "/public/secret-scanning/github", githubHeader(t, report), report, http.StatusOK)
	do("ListAuditLogFunction", "", "GET", p+"/audit-log", jwt, "", http.StatusOK)
	checkout := do("CreateCheckoutFunction", "", "POST", "/v1/checkouts", key, checkoutBody, http.StatusCreated)
	idem := e2etest.Bearer(m.key, "Idempotency-Key", "iam-proof")
	do("CreateCheckoutFunction", "", "POST", "/v1/checkouts", idem, checkoutBody, http.StatusCreated)
	do("CreateCheckoutFunction", "", "POST", "/v1/checkouts", idem, checkoutBody, http.StatusCreated) // the replay
	do("GetCheckoutFunction", "", "GET", "/v1/checkouts/"+checkout, key, "", http.StatusOK)
	do("ListCheckoutsFunction", "", "GET", "/v1/checkouts?limit=1&starting_after="+checkout, key, "", http.StatusOK)
	events := client.Call(t, "", "GET", "/v1/events?limit=1", key, "") // GSI1
	e2etest.Want(t, events, http.StatusOK)
	event := e2etest.Decode[struct{ Data []struct{ ID string } }](t, events).Data[0].ID
	do("ListEventsFunction", "", "GET", "/v1/events?type=checkout.created&starting_after="+event, key, "", http.StatusOK) // GetItem, GSI2
	do("GetEventFunction", "", "GET", "/v1/events/"+event, key, "", http.StatusOK)
	do("ExpireCheckoutFunction", "", "POST", "/v1/checkouts/"+checkout+"/expire", key, "", http.StatusOK)

	button := do("CreateButtonFunction", "", "POST", p+"/buttons", jwt, buttonBody, http.StatusCreated)
	do("ListButtonsFunction", "", "GET", p+"/buttons", jwt, "", http.StatusOK)
	archived := do("CreateButtonFunction", "", "POST", p+"/buttons", jwt, buttonBody, http.StatusCreated)
	do("DeleteButtonFunction", "", "DELETE", p+"/buttons/"+archived, jwt, "", http.StatusNoContent)
	public := "/public" + p + "/buttons/" + button
	do("PublicGetButtonFunction", "PublicApi", "GET", public, nil, "", http.StatusOK)
	bought := do("PublicCreateCheckoutFunction", "PublicApi", "POST", public+"/checkouts", nil, `{"quantity":1}`, http.StatusCreated)
	do("PublicGetCheckoutFunction", "PublicApi", "GET", "/public/checkouts/"+bought, nil, "", http.StatusOK)
	do("ListProjectCheckoutsFunction", "", "GET", p+"/checkouts?limit=1&starting_after="+checkout, jwt, "", http.StatusOK)
	do("ListProjectEventsFunction", "", "GET", p+"/events?limit=1", jwt, "", http.StatusOK)                                     // GSI1
	do("ListProjectEventsFunction", "", "GET", p+"/events?type=checkout.created&starting_after="+event, jwt, "", http.StatusOK) // GetItem, GSI2
	webhookCalls(t, m, do, exercised)
	page := "/c/" + bought
	do("CheckoutPageFunction", "PublicApi", "GET", page, nil, "", http.StatusOK)
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	do("PayCheckoutFunction", "PublicApi", "POST", page+"/pay", form, payForm("4000 0000 0000 9995"), http.StatusPaymentRequired)
	do("PayCheckoutFunction", "PublicApi", "POST", page+"/pay", form, payForm("4242 4242 4242 4242"), http.StatusSeeOther)
	do("PayCheckoutFunction", "PublicApi", "POST", page+"/pay", form, payForm("4242 4242 4242 4242"), http.StatusConflict)
	do("ButtonScriptFunction", "PublicApi", "GET", "/button.js", nil, "", http.StatusOK)
	buttonPage := "/b/" + m.project + "/" + button
	do("ButtonPageFunction", "PublicApi", "GET", buttonPage, nil, "", http.StatusOK)
	do("ButtonPageCheckoutFunction", "PublicApi", "POST", buttonPage, form, "", http.StatusSeeOther)
	calls := proxy.StopRecording()
	if t.Failed() {
		return // a request that failed took another path than the one it is here for
	}

	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		if !exercised[id] {
			t.Errorf("%s: none of its routes is requested here, so its policy is not proved; add them", id)
		}
	}
	for _, problem := range privilegeProblems(tpl, calls, stack.Tables) {
		t.Error(problem)
	}
	// The expire route and the sweep left the checkouts as the data model has them (expired with
	// a ttl and out of the open index; the paid one out of it too).
	wantConsistent(t)
	if testing.Verbose() {
		for _, fn := range slices.Sorted(maps.Keys(usedBy(calls, stack.Tables))) {
			t.Logf("%s: %s", fn, usedBy(calls, stack.Tables)[fn])
		}
	}
}

// access is one (IAM action, resource) pair; resources are ARNs made from the template's logical
// ids (arn:aws:dynamodb:us-east-1:123456789012:table/AppTable/index/GSI1), so that a policy and
// the calls of any stack compare, and messages show them without the common prefix.
type access struct{ action, resource string }

func (a access) String() string {
	return a.action + " on " + strings.TrimPrefix(a.resource, arnPrefix)
}

const arnPrefix = "arn:aws:dynamodb:us-east-1:123456789012:"

// privilegeProblems compares each function's policy in tpl with the calls it made (recorded by
// the proxy; tables maps logical ids to the physical names the calls use) and describes every
// call its policy does not grant, every grant no call used, and every grant wider than what
// its calls used (a wildcard). It returns nothing when the policies are exactly what the calls need.
func privilegeProblems(tpl *samtemplate.Template, calls []dynamoproxy.Call, tables map[string]string) []string {
	var problems []string
	used := usedBy(calls, tables)
	for _, caller := range slices.Sorted(maps.Keys(used)) {
		if tpl.Functions[caller] == nil {
			problems = append(problems, fmt.Sprintf("calls signed as %q, which is no function of the template: %s", caller, used[caller]))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		grants, err := policyGrants(tpl, tpl.Functions[id])
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, u := range used[id] {
			if !slices.ContainsFunc(grants, func(g access) bool { return g.allows(u) }) {
				problems = append(problems, fmt.Sprintf("%s calls %s, which its policy does not grant", id, u))
			}
		}
		for _, g := range grants {
			if !strings.HasPrefix(g.action, "dynamodb:") {
				continue // the proxy sees DynamoDB only; pkg/webhook's tests make the SQS and KMS calls
			}
			var by []string
			for _, u := range used[id] {
				if g.allows(u) {
					by = append(by, u.String())
				}
			}
			switch {
			case by == nil:
				problems = append(problems, fmt.Sprintf("%s's policy grants %s, which none of its calls uses", id, g))
			case strings.ContainsAny(g.action+g.resource, "*?"):
				problems = append(problems, fmt.Sprintf("%s's policy grants %s, wider than its calls use: %s", id, g, strings.Join(by, ", ")))
			}
		}
	}
	return problems
}

// usedBy groups what the calls needed by the function that signed them, each access once, sorted.
func usedBy(calls []dynamoproxy.Call, tables map[string]string) map[string][]access {
	logical := make(map[string]string, len(tables))
	for id, name := range tables {
		logical[name] = id
	}
	table := func(name string) string { return arnPrefix + "table/" + cmp.Or(logical[name], name) }
	used := map[string][]access{}
	for _, c := range calls {
		for _, a := range needs(c, table) {
			if !slices.Contains(used[c.Caller], a) {
				used[c.Caller] = append(used[c.Caller], a)
			}
		}
	}
	for _, as := range used {
		slices.SortFunc(as, func(a, b access) int {
			return cmp.Or(cmp.Compare(a.action, b.action), cmp.Compare(a.resource, b.resource))
		})
	}
	return used
}

// itemActions are the IAM actions a transaction's items are authorised by.
var itemActions = map[string]string{
	"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem",
}

// needs is what IAM checks for one call: an action per item of a transaction, on its table; a
// Query or Scan of an index on the index; any other call on each table it names (on "*" when it
// names none, as ListTables).
func needs(c dynamoproxy.Call, table func(string) string) []access {
	var out []access
	for _, it := range c.Items {
		out = append(out, access{"dynamodb:" + cmp.Or(itemActions[it.Action], it.Action), table(it.Table)})
	}
	if out != nil {
		return out
	}
	action := "dynamodb:" + c.Operation
	if len(c.Tables) == 0 {
		return []access{{action, "*"}}
	}
	if c.Index != "" {
		return []access{{action, table(c.Tables[0]) + "/index/" + c.Index}}
	}
	for _, t := range c.Tables {
		out = append(out, access{action, table(t)})
	}
	return out
}

// policyGrants lists the (action, resource) pairs fn's inline statements allow, resources resolved
// to ARNs of the template's logical ids.
func policyGrants(tpl *samtemplate.Template, fn *samtemplate.Function) ([]access, error) {
	names := map[string]string{"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
	for id := range tpl.Tables {
		names[id] = id
		names[id+".Arn"] = arnPrefix + "table/" + id
	}
	for id, typ := range tpl.Resources {
		if typ == "AWS::SQS::Queue" || typ == "AWS::KMS::Key" {
			names[id+".Arn"] = "arn:" + typ + ":" + id
		}
	}
	var grants []access
	for i, s := range fn.Statements {
		if s.Effect != "Allow" {
			return nil, fmt.Errorf("%s statement %d: only Allow statements can be checked against calls", fn.LogicalID, i)
		}
		for _, r := range s.Resource {
			resource, err := tpl.Resolve(r, names)
			if err != nil {
				return nil, fmt.Errorf("%s statement %d: %v", fn.LogicalID, i, err)
			}
			for _, a := range s.Action {
				grants = append(grants, access{a, resource})
			}
		}
	}
	return grants, nil
}

// allows reports whether the grant g covers u, matching as IAM does: * any run of characters, ?
// any one, actions without regard to case.
func (g access) allows(u access) bool {
	return glob(strings.ToLower(g.action), strings.ToLower(u.action)) && glob(g.resource, u.resource)
}

func glob(pattern, s string) bool {
	re := strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern))
	return regexp.MustCompile("^" + re + "$").MatchString(s)
}

// privilegeFixture is a template of two functions shaped like CreateKeyFunction (with an index
// query added) and WhoamiFunction, whose policies grant exactly what privilegeCalls need. The placeholders are
// where TestPrivilegeProblems changes the policies.
const privilegeFixture = `
Resources:
  KeysTable: {Type: AWS::DynamoDB::Table}
  AppTable: {Type: AWS::DynamoDB::Table}
  CreateKeyFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: !GetAtt AppTable.Arn
            - Effect: Allow
              Action: dynamodb:PutItem
              Resource: [!GetAtt AppTable.Arn, KEYS_PUT]
            - Effect: Allow
              Action: dynamodb:Query
              Resource: QUERY_RESOURCE
  WhoamiFunction:
    Type: AWS::Serverless::Function
    Properties:
      WHOAMI_POLICIES
`

// privilegeCalls are the calls the two functions of privilegeFixture make, as the proxy records
// them (physical table names: keys-1 and app-1).
var privilegeCalls = []dynamoproxy.Call{
	{Operation: "GetItem", Tables: []string{"app-1"}, Caller: "CreateKeyFunction"},
	{Operation: "TransactWriteItems", Tables: []string{"keys-1", "app-1"}, Caller: "CreateKeyFunction",
		Items: []dynamoproxy.Item{{Action: "Put", Table: "keys-1"}, {Action: "Put", Table: "app-1"}}},
	{Operation: "Query", Tables: []string{"keys-1"}, Index: "by_project", Caller: "CreateKeyFunction"},
}

// TestPrivilegeProblems pins the check TestIAMMatchesCalls makes: exact policies pass, and an
// under-privileged function (a call not granted) or an over-privileged one (a grant never used,
// or granted on more than the calls use) fails with the function, the action and the resource.
func TestPrivilegeProblems(t *testing.T) {
	exact := map[string]string{
		"KEYS_PUT":        "!GetAtt KeysTable.Arn",
		"QUERY_RESOURCE":  "!Sub ${KeysTable.Arn}/index/by_project",
		"WHOAMI_POLICIES": "Description: no policy",
	}
	tables := map[string]string{"KeysTable": "keys-1", "AppTable": "app-1"}
	for _, tc := range []struct {
		name   string
		change map[string]string
		calls  []dynamoproxy.Call
		want   []string
	}{
		{name: "exact", calls: privilegeCalls},
		{
			name: "a call not granted", change: map[string]string{"KEYS_PUT": "!GetAtt AppTable.Arn"}, calls: privilegeCalls,
			want: []string{"CreateKeyFunction calls dynamodb:PutItem on table/KeysTable, which its policy does not grant"},
		},
		{
			name: "a grant not used",
			change: map[string]string{"WHOAMI_POLICIES": "Policies:\n        - Statement:\n" +
				"            - {Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt KeysTable.Arn}"},
			calls: privilegeCalls,
			want:  []string{"WhoamiFunction's policy grants dynamodb:GetItem on table/KeysTable, which none of its calls uses"},
		},
		{
			name: "the table granted where the calls use its index", change: map[string]string{"QUERY_RESOURCE": "!GetAtt KeysTable.Arn"},
			calls: privilegeCalls,
			want: []string{
				"CreateKeyFunction calls dynamodb:Query on table/KeysTable/index/by_project, which its policy does not grant",
				"CreateKeyFunction's policy grants dynamodb:Query on table/KeysTable, which none of its calls uses",
			},
		},
		{
			name: "every index granted where the calls use one", change: map[string]string{"QUERY_RESOURCE": "!Sub ${KeysTable.Arn}/index/*"},
			calls: privilegeCalls,
			want: []string{"CreateKeyFunction's policy grants dynamodb:Query on table/KeysTable/index/*, wider than its calls use: " +
				"dynamodb:Query on table/KeysTable/index/by_project"},
		},
		{
			name: "a call no function signed", calls: append(slices.Clone(privilegeCalls), dynamoproxy.Call{Operation: "ListTables"}),
			want: []string{`calls signed as "", which is no function of the template: [dynamodb:ListTables on *]`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := privilegeFixture
			for placeholder, value := range exact {
				text = strings.ReplaceAll(text, placeholder, cmp.Or(tc.change[placeholder], value))
			}
			tpl, err := samtemplate.Parse([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if got := privilegeProblems(tpl, tc.calls, tables); !slices.Equal(got, tc.want) {
				t.Errorf("got %q,\nwant %q", got, tc.want)
			}
		})
	}
}

// seedOverdue writes a checkout of project straight into the app table (no route can make one in
// the past) that expired a day ago; with a status other than open, its index entry is left on, as
// a status change that forgot it would leave it. It returns the id.
func seedOverdue(t *testing.T, project string, status codex.CheckoutStatus) string {
	t.Helper()
	p, err := codex.CheckoutParams{
		LineItems: []codex.LineItem{{Name: "Tea", UnitAmount: 450, Quantity: 1}}, Currency: "eur",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cart",
	}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	c := codex.NewCheckout(project, p, time.Now().Add(-48*time.Hour))
	store := dynamo.New(db(), dynamo.Tables{Keys: stack.Tables["KeysTable"], App: stack.Tables["AppTable"]})
	pages := api.Checkouts{PageURL: "https://checkout.codex.example/c"}
	created, err := pages.Event(codex.EventCheckoutCreated, c, c.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateCheckout(context.Background(), c, created, nil); err != nil {
		t.Fatal(err)
	}
	if status != codex.CheckoutOpen {
		// With the event of that change, as the change itself writes it (the outbox).
		changed := c
		changed.Status = status
		typ := map[codex.CheckoutStatus]codex.EventType{codex.CheckoutComplete: codex.EventCheckoutCompleted, codex.CheckoutExpired: codex.EventCheckoutExpired}[status]
		ev, err := pages.Event(typ, changed, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		table := stack.Tables["AppTable"]
		s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
		sk := codex.FormatTime(ev.CreatedAt) + "#" + ev.ID
		_, err = db().TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                 &table,
				Key:                       map[string]types.AttributeValue{"PK": s("CHECKOUT#" + c.ID), "SK": s("CHECKOUT")},
				UpdateExpression:          aws.String("SET #s = :s"),
				ExpressionAttributeNames:  map[string]string{"#s": "status"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":s": s(string(status))},
			}},
			{Put: &types.Put{TableName: &table, Item: map[string]types.AttributeValue{
				"PK": s("EVENT#" + ev.ID), "SK": s("EVENT"), "GSI1PK": s("PROJECT#" + project + "#EVENT"), "GSI1SK": s(sk),
				"GSI2PK": s("PROJECT#" + project + "#EVENT#" + string(ev.Type)), "GSI2SK": s(sk),
				"kind": s("event"), "project_id": s(project), "event_id": s(ev.ID), "event_type": s(string(ev.Type)),
				"created_at": s(codex.FormatTime(ev.CreatedAt)), "event_json": s(string(ev.JSON)),
			}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return c.ID
}
