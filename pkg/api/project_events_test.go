package api

import (
	"net/http"
	"testing"

	"codex/pkg/codex"
)

const rkProjectEvents = "GET /projects/{project_id}/events"

// TestProjectEvents: the dashboard's list is the merchant API's list, byte for byte and with the
// same pagination and type filter, for the project's members only; another user's project, like
// one that does not exist, is a 404.
func TestProjectEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	b := w.button("alice", project, buttonBody)
	for range 3 {
		wantStatus(t, w.public(rkPublicCheckout, map[string]string{"project_id": project, "button_id": b.ID}, ""), http.StatusCreated)
	}
	pp := map[string]string{"project_id": project}

	want := w.merchant(project, "GET /v1/events", nil, nil, "")
	got := w.dashboardQuery("alice", rkProjectEvents, pp, nil)
	wantStatus(t, got, http.StatusOK)
	if got.Body != want.Body {
		t.Fatalf("dashboard list\n%s\nmerchant list\n%s", got.Body, want.Body)
	}
	all := decodeInto[Page[wireEvent]](t, got)
	if len(all.Data) != 3 || all.HasMore {
		t.Fatalf("dashboard list: %+v", all)
	}
	first := decodeInto[Page[wireEvent]](t, w.dashboardQuery("alice", rkProjectEvents, pp, map[string]string{"limit": "2", "type": "checkout.created"}))
	if len(first.Data) != 2 || !first.HasMore || first.Data[0].ID != all.Data[0].ID || first.Data[1].ID != all.Data[1].ID {
		t.Fatalf("first page %+v, want the first two of %+v and more", first, all)
	}
	rest := decodeInto[Page[wireEvent]](t, w.dashboardQuery("alice", rkProjectEvents, pp, map[string]string{"limit": "2", "starting_after": first.Data[1].ID}))
	if len(rest.Data) != 1 || rest.HasMore || rest.Data[0].ID != all.Data[2].ID {
		t.Fatalf("second page %+v, want %s alone", rest, all.Data[2].ID)
	}
	none := decodeInto[Page[wireEvent]](t, w.dashboardQuery("alice", rkProjectEvents, pp, map[string]string{"type": "checkout.expired"}))
	if len(none.Data) != 0 {
		t.Fatalf("checkout.expired: %+v, want none", none)
	}
	wantError(t, w.dashboardQuery("alice", rkProjectEvents, pp, map[string]string{"type": "checkout.paid"}), http.StatusBadRequest, codex.CodeParameterInvalid, "type")
	wantError(t, w.dashboardQuery("alice", rkProjectEvents, pp, map[string]string{"limit": "0"}), http.StatusBadRequest, codex.CodeParameterInvalid, "limit")

	for user, p := range map[string]string{"bob": project, "alice": codex.NewID(codex.ProjectIDPrefix)} {
		wantError(t, w.dashboardQuery(user, rkProjectEvents, map[string]string{"project_id": p}, nil), http.StatusNotFound, codex.CodeNotFound, "")
	}
}
