package dynamoproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// upstream answers every request with its own body and counts them.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.Copy(w, r.Body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func start(t *testing.T, endpoint string) *Proxy {
	p, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.SetUpstream(endpoint)
	return p
}

// call sends one DynamoDB-style request through the proxy, signed with the access key id
// in signed (one at most).
func call(p *Proxy, op, body string, signed ...string) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodPost, p.URL()+"/", strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	for _, key := range signed {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20261201/us-east-1/dynamodb/aws4_request, "+
			"SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123456789abcdef")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestPassForwardsAndCounts(t *testing.T) {
	up, hits := upstream(t)
	p := start(t, up.URL)
	resp, body, err := call(p, "GetItem", `{"TableName":"app"}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Upstream") != "yes" || body != `{"TableName":"app"}` {
		t.Errorf("got %d %v %q, want the upstream's answer", resp.StatusCode, resp.Header, body)
	}
	if hits.Load() != 1 {
		t.Errorf("upstream saw %d requests, want 1", hits.Load())
	}
	if c := p.Counts(); len(c) != 1 || c["pass GetItem"] != 1 {
		t.Errorf("counts %v", c)
	}
}

func TestRefuseNeverReachesUpstream(t *testing.T) {
	up, hits := upstream(t)
	p := start(t, up.URL)
	p.Set(func(op string, _ []byte) Fault {
		if op == "PutItem" {
			return Refuse
		}
		return Pass
	})
	if _, _, err := call(p, "PutItem", `{}`); err == nil {
		t.Error("a refused request got an answer")
	}
	if _, _, err := call(p, "GetItem", `{}`); err != nil {
		t.Errorf("a passed request: %v", err)
	}
	if hits.Load() != 1 {
		t.Errorf("upstream saw %d requests, want only the passed one", hits.Load())
	}
	if c := p.Counts(); c["refuse PutItem"] != 1 || c["pass GetItem"] != 1 {
		t.Errorf("counts %v", c)
	}
	p.Set(nil)
	if c := p.Counts(); len(c) != 0 {
		t.Errorf("counts after Set %v, want none", c)
	}
}

func TestRecording(t *testing.T) {
	up, _ := upstream(t)
	p := start(t, up.URL)
	send := func(op, body string) {
		t.Helper()
		if _, _, err := call(p, op, body); err != nil {
			t.Fatal(err)
		}
	}
	send("GetItem", `{"TableName":"before"}`) // not recorded

	p.StartRecording()
	send("GetItem", `{"TableName":"keys-1","Key":{"pk":{"S":"TableName"}}}`)
	send("TransactWriteItems", `{"TransactItems":[{"Put":{"TableName":"app-1","Item":{}}},{"ConditionCheck":{"TableName":"keys-1"}},{"Delete":{"TableName":"app-1"}}]}`)
	send("BatchGetItem", `{"RequestItems":{"keys-1":{"Keys":[]},"app-1":{"Keys":[]}}}`)
	send("ListTables", `{}`)
	send("GetItem", `not json`)
	calls := p.StopRecording()
	send("PutItem", `{"TableName":"after"}`) // not recorded

	got := Describe(calls, map[string]string{"AppTable": "app-1", "KeysTable": "keys-1"})
	want := []string{
		"GetItem KeysTable",
		"TransactWriteItems AppTable+KeysTable",
		"BatchGetItem AppTable+KeysTable",
		"ListTables",
		"GetItem",
	}
	if !slices.Equal(got, want) {
		t.Errorf("recorded %q,\nwant %q", got, want)
	}
	if again := p.StopRecording(); again != nil {
		t.Errorf("a second StopRecording returned %v", again)
	}

	// A new recording starts empty; a table Describe does not know keeps its physical name.
	p.StartRecording()
	send("PutItem", `{"TableName":"other"}`)
	if got := Describe(p.StopRecording(), nil); !slices.Equal(got, []string{"PutItem other"}) {
		t.Errorf("second recording %q", got)
	}
}

// TestRecordingWhatIAMNeeds: a call keeps who signed it, the index a query reads and each action
// of a transaction with its table, which is what IAM authorises.
func TestRecordingWhatIAMNeeds(t *testing.T) {
	up, _ := upstream(t)
	p := start(t, up.URL)
	send := func(op, body string, signed ...string) {
		t.Helper()
		if _, _, err := call(p, op, body, signed...); err != nil {
			t.Fatal(err)
		}
	}
	p.StartRecording()
	send("Query", `{"TableName":"app-1","IndexName":"GSI1"}`, "ListCheckoutsFunction")
	send("TransactWriteItems", `{"TransactItems":[{"Put":{"TableName":"app-1"}},{"ConditionCheck":{"TableName":"keys-1"}},`+
		`{"Delete":{"TableName":"app-1"}},{"Update":{"TableName":"keys-1"}}]}`, "DeleteKeyFunction")
	send("GetItem", `{"TableName":"keys-1"}`)
	calls := p.StopRecording()
	if len(calls) != 3 {
		t.Fatalf("recorded %d calls, want 3", len(calls))
	}
	if c := calls[0]; c.Caller != "ListCheckoutsFunction" || c.Index != "GSI1" || c.Items != nil {
		t.Errorf("query: %+v", c)
	}
	wantItems := []Item{{"Put", "app-1"}, {"ConditionCheck", "keys-1"}, {"Delete", "app-1"}, {"Update", "keys-1"}}
	if c := calls[1]; c.Caller != "DeleteKeyFunction" || c.Index != "" || !slices.Equal(c.Items, wantItems) ||
		!slices.Equal(c.Tables, []string{"app-1", "keys-1"}) {
		t.Errorf("transaction: %+v, want items %v", c, wantItems)
	}
	if c := calls[2]; c.Caller != "" {
		t.Errorf("an unsigned call has caller %q", c.Caller)
	}
}

// TestSetForFailsOneCaller: a rule set for one caller fails only the requests signed by it; the
// others, and unsigned ones, pass; Set applies to everyone again.
func TestSetForFailsOneCaller(t *testing.T) {
	up, hits := upstream(t)
	p := start(t, up.URL)
	p.SetFor("DeliverWebhooksFunction", func(string, []byte) Fault { return Refuse })
	if _, _, err := call(p, "GetItem", `{}`, "DeliverWebhooksFunction"); err == nil {
		t.Error("the caller's request got an answer")
	}
	if _, _, err := call(p, "GetItem", `{}`, "CreateCheckoutFunction"); err != nil {
		t.Errorf("another caller's request: %v", err)
	}
	if _, _, err := call(p, "GetItem", `{}`); err != nil {
		t.Errorf("an unsigned request: %v", err)
	}
	if hits.Load() != 2 {
		t.Errorf("upstream saw %d requests, want the other two", hits.Load())
	}
	p.Set(func(string, []byte) Fault { return Refuse })
	if _, _, err := call(p, "GetItem", `{}`, "CreateCheckoutFunction"); err == nil {
		t.Error("Set did not apply to every caller")
	}
}
