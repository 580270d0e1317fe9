package proof

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"codex/e2e/e2etest"
)

// TestRevocationUnderLoad: workers call /v1 routes back to back with one key while the key's owner
// deletes it in the dashboard. Every request records when it started and ended (time.Now carries
// the monotonic clock, which Before/After use). A request that started after the DELETE returned
// must be refused; one that ended before the DELETE started must be accepted; those in between
// may go either way. The workers keep going for a fixed time after the DELETE, so there are always
// requests after it, however slow the machine.
func TestRevocationUnderLoad(t *testing.T) {
	m := newMerchant(t, "revocation")
	// A second key of the same project keeps working: revocation is per key.
	other, _ := newKey(t, m, "other")
	routes := []string{"/v1/whoami", "/v1/checkouts?limit=1"}
	const workers = 6
	const (
		before = 1500 * time.Millisecond // load before the DELETE
		after  = 1500 * time.Millisecond // load after it returned
	)

	type result struct {
		start, end time.Time
		status     int
		path       string
		err        error
	}
	var (
		mu      sync.Mutex
		results []result
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := routes[(w+i)%len(routes)]
				start := time.Now()
				r, err := client.Send(context.Background(), e2etest.Request{Method: "GET", Path: path, Header: e2etest.Bearer(m.key)})
				res := result{start: start, end: time.Now(), status: r.Status, path: path, err: err}
				if err == nil && r.Status == http.StatusOK && path == "/v1/whoami" {
					// Accepted as the right principal, not merely answered.
					var who struct {
						ProjectID string `json:"project_id"`
						KeyID     string `json:"key_id"`
					}
					if json.Unmarshal(r.Body, &who) != nil || who.ProjectID != m.project || who.KeyID != m.keyID {
						t.Errorf("whoami answered %s", r.Body)
					}
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
		})
	}

	time.Sleep(before)
	deleteStart := time.Now()
	del := client.Call(t, "", "DELETE", "/projects/"+m.project+"/keys/"+m.keyID, e2etest.Bearer(m.token), "")
	deleteEnd := time.Now()
	e2etest.Want(t, del, http.StatusNoContent)
	time.Sleep(after)
	close(stop)
	wg.Wait()

	var acceptedBefore, deniedAfter, overlapAccepted, overlapDenied int
	for _, r := range results {
		if r.err != nil {
			t.Errorf("GET %s: %v", r.path, r.err)
			continue
		}
		switch {
		case r.start.After(deleteEnd):
			// The one property revocation promises.
			if r.status != http.StatusForbidden {
				t.Errorf("GET %s started %s after the DELETE returned and got %d, want 403",
					r.path, r.start.Sub(deleteEnd).Round(time.Microsecond), r.status)
			}
			deniedAfter++
		case r.end.Before(deleteStart):
			if r.status != http.StatusOK {
				t.Errorf("GET %s ended before the DELETE started and got %d, want 200", r.path, r.status)
			}
			acceptedBefore++
		default:
			switch r.status {
			case http.StatusOK:
				overlapAccepted++
			case http.StatusForbidden:
				overlapDenied++
			default:
				t.Errorf("GET %s during the DELETE got %d, want 200 or 403", r.path, r.status)
			}
		}
	}
	t.Logf("%d requests by %d workers: %d accepted before the DELETE, %d during it (%d accepted, %d refused), %d refused after it (DELETE took %s)",
		len(results), workers, acceptedBefore, overlapAccepted+overlapDenied, overlapAccepted, overlapDenied, deniedAfter,
		deleteEnd.Sub(deleteStart).Round(time.Millisecond))
	if acceptedBefore == 0 || deniedAfter == 0 {
		t.Errorf("the load must straddle the DELETE: %d requests before, %d after", acceptedBefore, deniedAfter)
	}

	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(other), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(m.key), ""), http.StatusForbidden)
}
