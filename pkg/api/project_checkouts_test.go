package api

import (
	"net/http"
	"slices"
	"testing"

	"codex/pkg/codex"
)

const rkProjectCheckouts = "GET /projects/{project_id}/checkouts"

// TestProjectCheckouts: the dashboard's list is the merchant API's list, for the project's members
// only; another user's project, like one that does not exist, is a 404.
func TestProjectCheckouts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	b := w.button("alice", project, buttonBody)
	for range 3 {
		wantStatus(t, w.public(rkPublicCheckout, map[string]string{"project_id": project, "button_id": b.ID}, ""), http.StatusCreated)
	}
	pp := map[string]string{"project_id": project}

	want, _ := listIDs(t, w.merchant(project, "GET /v1/checkouts", nil, nil, ""))
	got := w.dashboardQuery("alice", rkProjectCheckouts, pp, nil)
	wantStatus(t, got, http.StatusOK)
	ids, more := listIDs(t, got)
	if len(ids) != 3 || !slices.Equal(ids, want) || more {
		t.Fatalf("dashboard list %v (has_more %v), merchant list %v", ids, more, want)
	}
	page, more := listIDs(t, w.dashboardQuery("alice", rkProjectCheckouts, pp, map[string]string{"limit": "2"}))
	if !slices.Equal(page, want[:2]) || !more {
		t.Fatalf("first page %v (has_more %v), want %v and more", page, more, want[:2])
	}
	rest, more := listIDs(t, w.dashboardQuery("alice", rkProjectCheckouts, pp, map[string]string{"limit": "2", "starting_after": page[1]}))
	if !slices.Equal(rest, want[2:]) || more {
		t.Fatalf("second page %v (has_more %v), want %v", rest, more, want[2:])
	}
	wantError(t, w.dashboardQuery("alice", rkProjectCheckouts, pp, map[string]string{"limit": "0"}), http.StatusBadRequest, codex.CodeParameterInvalid, "limit")

	for user, p := range map[string]string{"bob": project, "alice": codex.NewID(codex.ProjectIDPrefix)} {
		wantError(t, w.dashboardQuery(user, rkProjectCheckouts, map[string]string{"project_id": p}, nil), http.StatusNotFound, codex.CodeNotFound, "")
	}
}
