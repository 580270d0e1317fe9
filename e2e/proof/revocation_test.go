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
	underLoad(t, m, func() (time.Time, time.Time, time.Time) {
		start := time.Now()
		del := client.Call(t, "", "DELETE", "/projects/"+m.project+"/keys/"+m.keyID, e2etest.Bearer(m.token), "")
		end := time.Now()
		e2etest.Want(t, del, http.StatusNoContent)
		return start, end, end
	})
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(other), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(m.key), ""), http.StatusForbidden)
}

// TestRollRevocationUnderLoad: the same with a roll of expires_in 0 in place of the DELETE: no
// request that started after the roll returned is accepted with the old key, and the new key
// works at once.
func TestRollRevocationUnderLoad(t *testing.T) {
	m := newMerchant(t, "roll-now")
	var newKey string
	underLoad(t, m, func() (time.Time, time.Time, time.Time) {
		start := time.Now()
		r := client.Call(t, "", "POST", "/projects/"+m.project+"/keys/"+m.keyID+"/roll", e2etest.Bearer(m.token), `{"expires_in":0}`)
		end := time.Now()
		e2etest.Want(t, r, http.StatusCreated)
		newKey = e2etest.Decode[struct{ Key string }](t, r).Key
		secrets.add(newKey)
		return start, end, end
	})
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(newKey), ""), http.StatusOK)
}

// TestRollGraceEndsUnderLoad: a roll with a grace period while requests run. Requests between the
// roll's return and the end of the grace are accepted with the old key; no request that started
// after the grace ended (the old key's expires_at, as the list shows it) is.
func TestRollGraceEndsUnderLoad(t *testing.T) {
	m := newMerchant(t, "roll-grace")
	var graceEnds time.Time
	underLoad(t, m, func() (time.Time, time.Time, time.Time) {
		start := time.Now()
		r := client.Call(t, "", "POST", "/projects/"+m.project+"/keys/"+m.keyID+"/roll", e2etest.Bearer(m.token), `{"expires_in":2}`)
		end := time.Now()
		e2etest.Want(t, r, http.StatusCreated)
		secrets.add(e2etest.Decode[struct{ Key string }](t, r).Key)
		list := e2etest.Decode[struct {
			Data []struct {
				ID        string  `json:"id"`
				ExpiresAt *string `json:"expires_at"`
			} `json:"data"`
		}](t, client.Call(t, "", "GET", "/projects/"+m.project+"/keys", e2etest.Bearer(m.token), ""))
		for _, k := range list.Data {
			if k.ID == m.keyID && k.ExpiresAt != nil {
				var err error
				if graceEnds, err = time.Parse(time.RFC3339, *k.ExpiresAt); err != nil {
					t.Fatal(err)
				}
			}
		}
		if graceEnds.IsZero() {
			t.Fatalf("the rolled key is listed without an expiry: %+v", list.Data)
		}
		// The wall clock of graceEnds, on this process's monotonic clock.
		return start, end, time.Now().Add(time.Until(graceEnds))
	})
}

// underLoad runs workers calling /v1 routes with m's key around change, which returns when it
// started, when it returned, and from when the key must be refused (at or after its return). It
// checks: a request that ended before the change started was accepted; one that started after
// the change returned and ended before the refusal point was accepted; one that started after the
// refusal point was refused. Load runs before the change and for a fixed time after the refusal
// point.
func underLoad(t *testing.T, m merchant, change func() (start, end, refused time.Time)) {
	t.Helper()
	routes := []string{"/v1/whoami", "/v1/checkouts?limit=1"}
	const workers = 6
	const (
		before = 1500 * time.Millisecond // load before the change
		after  = 1500 * time.Millisecond // load after the refusal point
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
	changeStart, changeEnd, refused := change()
	time.Sleep(time.Until(refused) + after)
	close(stop)
	wg.Wait()

	var acceptedBefore, acceptedInGrace, refusedAfter, overlapAccepted, overlapDenied int
	for _, r := range results {
		if r.err != nil {
			t.Errorf("GET %s: %v", r.path, r.err)
			continue
		}
		switch {
		case r.start.After(refused):
			// The one property revocation promises.
			if r.status != http.StatusForbidden {
				t.Errorf("GET %s started %s after the key's refusal point and got %d, want 403",
					r.path, r.start.Sub(refused).Round(time.Microsecond), r.status)
			}
			refusedAfter++
		case r.end.Before(changeStart):
			if r.status != http.StatusOK {
				t.Errorf("GET %s ended before the change started and got %d, want 200", r.path, r.status)
			}
			acceptedBefore++
		case r.start.After(changeEnd) && r.end.Before(refused):
			if r.status != http.StatusOK {
				t.Errorf("GET %s ran in the grace period and got %d, want 200", r.path, r.status)
			}
			acceptedInGrace++
		default:
			switch r.status {
			case http.StatusOK:
				overlapAccepted++
			case http.StatusForbidden:
				overlapDenied++
			default:
				t.Errorf("GET %s during the change got %d, want 200 or 403", r.path, r.status)
			}
		}
	}
	t.Logf("%d requests by %d workers: %d accepted before the change, %d accepted in a grace period, %d overlapping it (%d accepted, %d refused), %d refused after it (the change took %s)",
		len(results), workers, acceptedBefore, acceptedInGrace, overlapAccepted+overlapDenied, overlapAccepted, overlapDenied, refusedAfter,
		changeEnd.Sub(changeStart).Round(time.Millisecond))
	if acceptedBefore == 0 || refusedAfter == 0 {
		t.Errorf("the load must straddle the change: %d requests before, %d after", acceptedBefore, refusedAfter)
	}
	if refused.After(changeEnd.Add(time.Second)) && acceptedInGrace == 0 {
		t.Errorf("no request ran in the grace period")
	}
}
