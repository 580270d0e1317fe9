package proof

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// db reads the stack's tables directly from moto, not through the proxy.
func db() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       stack.Region,
		BaseEndpoint: aws.String(stack.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// item is one table item as plain Go values (strings, float64s, bools, maps, slices).
type item map[string]any

func (it item) s(name string) string { v, _ := it[name].(string); return v }

// snapshot is every item of both tables, read with consistent scans, by logical table id.
type snapshot map[string][]item

func scanTables(t *testing.T) snapshot {
	t.Helper()
	ctx := context.Background()
	client := db()
	snap := snapshot{}
	for _, id := range slices.Sorted(maps.Keys(stack.Tables)) {
		in := &dynamodb.ScanInput{TableName: aws.String(stack.Tables[id]), ConsistentRead: aws.Bool(true)}
		snap[id] = []item{}
		for p := dynamodb.NewScanPaginator(client, in); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("scan %s: %v", id, err)
			}
			for _, raw := range page.Items {
				var it item
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					t.Fatalf("scan %s: %v", id, err)
				}
				snap[id] = append(snap[id], it)
			}
		}
	}
	return snap
}

// canonical renders each item as JSON (map keys sorted), sorted, for comparison.
func (s snapshot) canonical(table string) []string {
	var out []string
	for _, it := range s[table] {
		b, _ := json.Marshal(it)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// count is how many items of table have a partition key starting with prefix.
func (s snapshot) count(table, prefix string) int {
	n := 0
	for _, it := range s[table] {
		if strings.HasPrefix(it.s("PK"), prefix) {
			n++
		}
	}
	return n
}

func (s snapshot) size() int {
	n := 0
	for _, items := range s {
		n += len(items)
	}
	return n
}

// diff describes how after differs from s, item by item; "" when they are equal.
func (s snapshot) diff(after snapshot) string {
	var b strings.Builder
	for _, table := range slices.Sorted(maps.Keys(stack.Tables)) {
		was, is := s.canonical(table), after.canonical(table)
		for _, it := range was {
			if _, found := slices.BinarySearch(is, it); !found {
				fmt.Fprintf(&b, "%s: gone     %.400s\n", table, it)
			}
		}
		for _, it := range is {
			if _, found := slices.BinarySearch(was, it); !found {
				fmt.Fprintf(&b, "%s: new      %.400s\n", table, it)
			}
		}
	}
	return b.String()
}

// consistency lists every broken invariant of the data model, the states that only a half-done
// write could leave:
//   - an API key without its reference (PROJECT#<pid> / KEY#<key id>, holding the key's hash) or a
//     reference without its key: a key nobody can delete, or a deletion that did not revoke;
//   - a project without its owner's membership, or a membership without its project;
//   - an idempotency record whose stored answer names a checkout that does not exist in its
//     project: a key stuck on nothing;
//   - a checkout, key, button or audit event of a project that does not exist;
//   - an open checkout missing from the open index (the sweeper would never expire it), an expired
//     one still in it, or a deletion date (ttl) on anything but an expired, unpaid checkout;
//   - an audit event without its deletion date (ttl, a year on);
//   - a key without the audit event of its creation (key.created, or key.rolled naming it new),
//     or a key whose expiry differs from its reference's or has no key.expired event at it;
//   - a checkout without its checkout.created event, a complete or expired one without its one
//     checkout.completed or checkout.expired event (or an event of a change its status does not
//     show), an event without the checkout it records (the outbox: both are written in one
//     transaction), or an event item whose attributes disagree with its own JSON;
//   - an item of a kind it does not know, which it could not check.
func (s snapshot) consistency() []string {
	var problems []string
	app := map[string]item{}
	created := map[string]bool{}  // key ids with their creation recorded
	expiries := map[string]bool{} // "key id | time" of the key.expired events
	for _, it := range s["AppTable"] {
		app[it.s("PK")+" | "+it.s("SK")] = it
		switch it.s("action") {
		case "key.created":
			created[it.s("key_id")] = true
		case "key.rolled":
			created[it.s("new_key_id")] = true
		case "key.expired":
			expiries[it.s("key_id")+" | "+it.s("at")] = true
		}
	}
	keys := map[string]item{}
	for _, k := range s["KeysTable"] {
		keys[k.s("key_hash")] = k
		ref, ok := app["PROJECT#"+k.s("project_id")+" | KEY#"+k.s("key_id")]
		if !ok || ref.s("key_hash") != k.s("key_hash") {
			problems = append(problems, fmt.Sprintf("key %s of %s has no reference", k.s("key_id"), k.s("project_id")))
		}
		if _, ok := app["PROJECT#"+k.s("project_id")+" | PROJECT"]; !ok {
			problems = append(problems, fmt.Sprintf("key %s belongs to a project that does not exist", k.s("key_id")))
		}
		if !created[k.s("key_id")] {
			problems = append(problems, fmt.Sprintf("key %s has no audit event of its creation", k.s("key_id")))
		}
		if exp := k.s("expires_at"); exp != ref.s("expires_at") || exp != "" && !expiries[k.s("key_id")+" | "+exp] {
			problems = append(problems, fmt.Sprintf("key %s expires at %q, its reference at %q, with an expiry event: %v",
				k.s("key_id"), exp, ref.s("expires_at"), expiries[k.s("key_id")+" | "+exp]))
		}
	}
	events := map[string]map[string]int{} // checkout id → event type → how many
	for _, it := range s["AppTable"] {
		if strings.HasPrefix(it.s("PK"), "EVENT#") {
			id := eventObjectID(it)
			if events[id] == nil {
				events[id] = map[string]int{}
			}
			events[id][it.s("event_type")]++
		}
	}
	for _, it := range s["AppTable"] {
		pk, sk := it.s("PK"), it.s("SK")
		pid, isProject := strings.CutPrefix(pk, "PROJECT#")
		_, projectExists := app["PROJECT#"+pid+" | PROJECT"]
		switch {
		case isProject && sk == "PROJECT":
			if _, ok := app["USER#"+it.s("created_by")+" | PROJECT#"+pid]; !ok {
				problems = append(problems, fmt.Sprintf("project %s has no owner membership", pid))
			}
		case strings.HasPrefix(pk, "USER#") && strings.HasPrefix(sk, "PROJECT#"):
			if _, ok := app[sk+" | PROJECT"]; !ok {
				problems = append(problems, fmt.Sprintf("membership %s of %s names no project", sk, pk))
			}
		case isProject && strings.HasPrefix(sk, "KEY#"):
			if k, ok := keys[it.s("key_hash")]; !ok || k.s("project_id") != pid || "KEY#"+k.s("key_id") != sk {
				problems = append(problems, fmt.Sprintf("reference %s of %s has no key", sk, pid))
			}
		case isProject && strings.HasPrefix(sk, "IDEMPOTENCY#"):
			var stored struct{ ID string }
			_ = json.Unmarshal([]byte(it.s("body")), &stored)
			c, ok := app["CHECKOUT#"+stored.ID+" | CHECKOUT"]
			if !ok || c.s("project_id") != pid {
				problems = append(problems, fmt.Sprintf("idempotency record %s of %s answers checkout %q, which it does not have", sk, pid, stored.ID))
			}
		case isProject && strings.HasPrefix(sk, "BUTTON#"):
			if !projectExists {
				problems = append(problems, fmt.Sprintf("button %s belongs to a project that does not exist", sk))
			}
		case isProject && strings.HasPrefix(sk, "AUDIT#"):
			if !projectExists {
				problems = append(problems, fmt.Sprintf("audit event %s belongs to a project that does not exist", sk))
			}
			if _, ok := it["ttl"]; !ok {
				problems = append(problems, fmt.Sprintf("audit event %s of %s is never deleted", sk, pid))
			}
		case isProject && strings.HasPrefix(sk, "WEBHOOK#"):
			if !projectExists {
				problems = append(problems, fmt.Sprintf("webhook endpoint %s belongs to a project that does not exist", sk))
			}
		case strings.HasPrefix(pk, "WEBHOOK#") && (strings.HasPrefix(sk, "ATTEMPT#") || strings.HasPrefix(sk, "EVENT#")):
			// Kept for the deliveries list and redelivery after their endpoint is gone, then deleted.
			if _, ok := it["ttl"]; !ok {
				problems = append(problems, fmt.Sprintf("delivery record %s of %s is never deleted", sk, pk))
			}
		case strings.HasPrefix(pk, "EVENT#") && sk == "EVENT":
			problems = append(problems, eventProblems(it, app)...)
		case strings.HasPrefix(pk, "CHECKOUT#"):
			// Created once; and a stored status other than open was reached by one change, which
			// wrote its one event.
			for typ, status := range map[string]string{"checkout.created": "", "checkout.completed": "complete", "checkout.expired": "expired"} {
				want := 0
				if status == "" || it.s("status") == status {
					want = 1
				}
				if n := events[strings.TrimPrefix(pk, "CHECKOUT#")][typ]; n != want {
					problems = append(problems, fmt.Sprintf("checkout %s (status %s) has %d %s events", pk, it.s("status"), n, typ))
				}
			}
			if _, ok := app["PROJECT#"+it.s("project_id")+" | PROJECT"]; !ok {
				problems = append(problems, fmt.Sprintf("checkout %s belongs to a project that does not exist", pk))
			}
			if it.s("GSI1PK") != "PROJECT#"+it.s("project_id")+"#CHECKOUT" {
				problems = append(problems, fmt.Sprintf("checkout %s is listed under %s", pk, it.s("GSI1PK")))
			}
			_, indexed := it["open_shard"]
			_, deleted := it["ttl"]
			switch status := it.s("status"); {
			case status == "open" && (!indexed || it.s("open_expires_at") != it.s("expires_at")):
				problems = append(problems, fmt.Sprintf("open checkout %s is not in the open index by its expires_at", pk))
			case status == "expired" && (indexed || it["open_expires_at"] != nil):
				problems = append(problems, fmt.Sprintf("expired checkout %s is still in the open index", pk))
			case deleted && (status != "expired" || it.s("payment_status") != "unpaid"):
				problems = append(problems, fmt.Sprintf("checkout %s (%s, %s) is to be deleted", pk, status, it.s("payment_status")))
			case status == "expired" && !deleted:
				problems = append(problems, fmt.Sprintf("expired checkout %s is never deleted", pk))
			}
		default:
			// A kind of item this check does not know would go unchecked: teach it the new kind.
			problems = append(problems, fmt.Sprintf("an item of no known kind: %s | %s", pk, sk))
		}
	}
	return problems
}

// wantConsistent fails the test with every broken invariant of the tables as they are now.
func wantConsistent(t *testing.T) snapshot {
	t.Helper()
	snap := scanTables(t)
	for _, p := range snap.consistency() {
		t.Errorf("half-written state: %s", p)
	}
	return snap
}

// eventObjectID is the id of the object an event item's JSON records.
func eventObjectID(it item) string {
	var ev struct {
		Data struct{ Object struct{ ID string } }
	}
	_ = json.Unmarshal([]byte(it.s("event_json")), &ev)
	return ev.Data.Object.ID
}

// eventProblems checks an event item: its attributes are those of its JSON (what the stream's
// readers rely on), and the checkout it records exists in its project.
func eventProblems(it item, app map[string]item) []string {
	var ev struct {
		ID        string `json:"id"`
		Object    string `json:"object"`
		Type      string `json:"type"`
		CreatedAt string `json:"created_at"`
		Data      struct{ Object struct{ ID, Object string } }
	}
	if err := json.Unmarshal([]byte(it.s("event_json")), &ev); err != nil {
		return []string{fmt.Sprintf("event %s: event_json is not JSON: %v", it.s("PK"), err)}
	}
	var problems []string
	if it.s("kind") != "event" || "EVENT#"+ev.ID != it.s("PK") || it.s("event_id") != ev.ID || it.s("event_type") != ev.Type ||
		it.s("created_at") != ev.CreatedAt || ev.Object != "event" {
		problems = append(problems, fmt.Sprintf("event %s: attributes (kind %q, event_id %q, event_type %q, created_at %q) disagree with its JSON",
			it.s("PK"), it.s("kind"), it.s("event_id"), it.s("event_type"), it.s("created_at")))
	}
	c, ok := app["CHECKOUT#"+ev.Data.Object.ID+" | CHECKOUT"]
	if !ok || c.s("project_id") != it.s("project_id") || ev.Data.Object.Object != "checkout" {
		problems = append(problems, fmt.Sprintf("event %s (%s) records checkout %q, which its project %s does not have",
			it.s("PK"), ev.Type, ev.Data.Object.ID, it.s("project_id")))
	}
	return problems
}
