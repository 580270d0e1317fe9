package codex

import (
	"context"
	"time"
)

// ExpiredRetention is how long an expired, unpaid checkout is kept after it expired; DynamoDB's
// TTL then deletes it (some time after, not at, that moment). A paid checkout is kept.
const ExpiredRetention = 30 * 24 * time.Hour

// PayLockAttribute names the stored lease a payment in progress holds on a checkout (see the
// payment code): while it is live, a checkout is neither paid twice nor expired under the buyer.
const PayLockAttribute = "pay_lock_until"

// CheckoutExpirer moves checkouts from open to expired. Both ways there (POST
// /v1/checkouts/{id}/expire and the sweeper of checkouts past expires_at) go through
// ExpireCheckout, the one write of that status change.
type CheckoutExpirer interface {
	// ExpireCheckout moves c, as just read, from open to expired as of at, in one conditional
	// write that also stores ev, the change's checkout.expired event (both or neither): only while
	// it is still open and no payment holds a live lease on it (as of at). The checkout leaves the
	// index of open checkouts and is deleted ExpiredRetention after at. It returns c as it now is.
	// A checkout no longer open gives CodeCheckoutNotOpen, a live lease CodePaymentInProgress, a
	// checkout that is gone NotFound.
	ExpireCheckout(ctx context.Context, c Checkout, ev Event, at time.Time) (Checkout, error)
	// DueCheckouts lists the ids of up to limit checkouts of one shard of the open index whose
	// expires_at is at or before now, the longest overdue first, starting after cursor ("" for
	// the first page). next is the cursor of the following page, "" after the last.
	DueCheckouts(ctx context.Context, shard int, now time.Time, limit int, cursor string) (ids []string, next string, err error)
	// OpenShards is the number of shards of the open index: DueCheckouts takes 0 to OpenShards()-1.
	OpenShards() int
	// UnindexCheckout takes a checkout that is no longer open out of the open index and reports
	// whether it was in it; a no-op for one that is open, gone or already out. The index holds a
	// checkout only while it is open; this repairs an entry a status change left behind.
	UnindexCheckout(ctx context.Context, id string) (removed bool, err error)
}
