package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

const rkExpire = "POST /v1/checkouts/{checkout_id}/expire"

// TestExpireCheckoutRoute runs POST /v1/checkouts/{id}/expire against DynamoDB on moto: an open
// checkout answers 200 with the checkout as GET then shows it; anything not open, 409; another
// project's or an unknown id, 404; a payment in progress, 409 payment_in_progress.
func TestExpireCheckoutRoute(t *testing.T) {
	t.Parallel()
	s, tables := newTestTables(t)
	clk := &clock{now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)}
	routes := worldRoutes(t, s, clk.Now)
	call := func(project, id, body string) Response {
		t.Helper()
		req := asProject(merchantRequest(body, nil), project)
		req.RouteKey, req.PathParameters = rkExpire, map[string]string{"checkout_id": id}
		if body == "" {
			delete(req.Headers, "content-type")
		}
		resp, err := Handler(discardLog(), routes[rkExpire])(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	r := checkoutRoutes{create: Handler(discardLog(), routes["POST /v1/checkouts"]),
		get: Handler(discardLog(), routes["GET /v1/checkouts/{checkout_id}"]), clock: clk}
	create := func(expiresIn string) wireCheckout {
		t.Helper()
		resp := r.post(t, "prj_A", withField(t, "expires_in", expiresIn), nil)
		wantStatus(t, resp, http.StatusCreated)
		var c wireCheckout
		decodeStrict(t, resp.Body, &c)
		return c
	}

	c := create("3600")
	resp := call("prj_A", c.ID, "")
	wantStatus(t, resp, http.StatusOK)
	var expired wireCheckout
	decodeStrict(t, resp.Body, &expired)
	if expired.Status != "expired" || expired.PaymentStatus != "unpaid" || expired.ID != c.ID || expired.ExpiresAt != c.ExpiresAt {
		t.Errorf("answered %+v", expired)
	}
	// The answer is the checkout as GET shows it, from now on.
	if get := r.fetch(t, "prj_A", c.ID); get.Body != resp.Body {
		t.Errorf("GET after expire: %s\nexpire answered: %s", get.Body, resp.Body)
	}
	wantError(t, call("prj_A", c.ID, ""), http.StatusConflict, codex.CodeCheckoutNotOpen, "")

	// {} is no parameters too; anything in it is refused by name, before any read.
	wantStatus(t, call("prj_A", create("3600").ID, "{}"), http.StatusOK)
	other := create("3600")
	wantError(t, call("prj_A", other.ID, `{"status":"open"}`), http.StatusBadRequest, codex.CodeParameterUnknown, "status")

	// Another project's checkout, an unknown id and a malformed one look the same, and stay open.
	wantError(t, call("prj_B", other.ID, ""), http.StatusNotFound, codex.CodeNotFound, "")
	wantError(t, call("prj_A", codex.NewID(codex.CheckoutIDPrefix), ""), http.StatusNotFound, codex.CodeNotFound, "")
	wantError(t, call("prj_A", "chk_nope", ""), http.StatusNotFound, codex.CodeNotFound, "")
	var still wireCheckout
	decodeStrict(t, r.fetch(t, "prj_A", other.ID).Body, &still)
	if still.Status != "open" {
		t.Errorf("another project's expire attempt left it %s", still.Status)
	}

	// A payment holding a live lease wins; once the lease has lapsed, expiring works.
	_, err := localAWS(t).DynamoDB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: &tables.App,
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "CHECKOUT#" + other.ID}, "SK": &types.AttributeValueMemberS{Value: "CHECKOUT"},
		},
		UpdateExpression:          aws.String("SET #l = :l"),
		ExpressionAttributeNames:  map[string]string{"#l": codex.PayLockAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":l": &types.AttributeValueMemberS{Value: codex.FormatTime(clk.Now().Add(time.Minute))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, call("prj_A", other.ID, ""), http.StatusConflict, codex.CodePaymentInProgress, "")
	clk.Add(time.Minute + time.Millisecond)
	wantStatus(t, call("prj_A", other.ID, ""), http.StatusOK)

	// Past expires_at a checkout reads as expired already: not open.
	late := create("1800")
	clk.Add(30 * time.Minute)
	wantError(t, call("prj_A", late.ID, ""), http.StatusConflict, codex.CodeCheckoutNotOpen, "")
}
