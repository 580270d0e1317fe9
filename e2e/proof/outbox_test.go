package proof

import (
	"slices"
	"strings"
	"testing"
)

// TestConsistencyFindsOutboxGaps: the consistency check the fault tests rely on does see a
// checkout without its event, an event without its checkout, a second created event, and an
// event whose attributes disagree with its JSON; and it accepts a checkout with its event.
func TestConsistencyFindsOutboxGaps(t *testing.T) {
	project := item{"PK": "PROJECT#prj_A", "SK": "PROJECT", "created_by": "u"}
	member := item{"PK": "USER#u", "SK": "PROJECT#prj_A"}
	checkout := func(id string) item {
		return item{"PK": "CHECKOUT#" + id, "SK": "CHECKOUT", "project_id": "prj_A", "GSI1PK": "PROJECT#prj_A#CHECKOUT",
			"status": "open", "payment_status": "unpaid", "expires_at": "2026-01-02T00:00:00.000Z",
			"open_shard": float64(1), "open_expires_at": "2026-01-02T00:00:00.000Z"}
	}
	event := func(id, checkoutID string) item {
		return item{"PK": "EVENT#" + id, "SK": "EVENT", "kind": "event", "project_id": "prj_A", "event_id": id,
			"event_type": "checkout.created", "created_at": "2026-01-01T00:00:00.000Z",
			"event_json": `{"id":"` + id + `","object":"event","type":"checkout.created","created_at":"2026-01-01T00:00:00.000Z","livemode":false,` +
				`"data":{"object":{"id":"` + checkoutID + `","object":"checkout"}}}`}
	}
	check := func(items ...item) []string {
		return snapshot{"AppTable": append([]item{project, member}, items...)}.consistency()
	}
	if p := check(checkout("chk_1"), event("evt_1", "chk_1")); len(p) != 0 {
		t.Fatalf("a checkout with its event: %v", p)
	}
	completed := checkout("chk_1")
	completed["status"], completed["payment_status"] = "complete", "paid"
	delete(completed, "open_shard")
	delete(completed, "open_expires_at")
	done := event("evt_2", "chk_1")
	done["event_type"] = "checkout.completed"
	done["event_json"] = strings.Replace(done["event_json"].(string), "checkout.created", "checkout.completed", 1)
	if p := check(completed, event("evt_1", "chk_1"), done); len(p) != 0 {
		t.Fatalf("a completed checkout with its events: %v", p)
	}
	expiredEvent := event("evt_3", "chk_1")
	expiredEvent["event_type"] = "checkout.expired"
	expiredEvent["event_json"] = strings.Replace(expiredEvent["event_json"].(string), "checkout.created", "checkout.expired", 1)
	wrongType := event("evt_1", "chk_1")
	wrongType["event_type"] = "checkout.expired"
	for name, c := range map[string]struct {
		items []item
		want  string
	}{
		"checkout without event":  {[]item{checkout("chk_1")}, "has 0 checkout.created events"},
		"event without checkout":  {[]item{checkout("chk_1"), event("evt_1", "chk_1"), event("evt_2", "chk_2")}, `records checkout "chk_2"`},
		"two created events":      {[]item{checkout("chk_1"), event("evt_1", "chk_1"), event("evt_2", "chk_1")}, "has 2 checkout.created events"},
		"completed without event": {[]item{completed, event("evt_1", "chk_1")}, "has 0 checkout.completed events"},
		"expired event, open":     {[]item{checkout("chk_1"), event("evt_1", "chk_1"), expiredEvent}, "has 1 checkout.expired events"},
		"attributes disagree":     {[]item{checkout("chk_1"), event("evt_2", "chk_1"), wrongType}, "disagree with its JSON"},
	} {
		if p := check(c.items...); !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.want) }) {
			t.Errorf("%s: problems %v, want one containing %q", name, p, c.want)
		}
	}
}
