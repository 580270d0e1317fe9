package samtemplate

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func loadReal(t *testing.T) *Template {
	t.Helper()
	tpl, err := Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestRealTemplateValidates(t *testing.T) {
	if err := loadReal(t).Validate(); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
}

func keys(ks []types.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return out
}

func TestRealTemplateTables(t *testing.T) {
	tpl := loadReal(t)
	if len(tpl.Tables) != 2 {
		t.Fatalf("tables = %d, want KeysTable and AppTable", len(tpl.Tables))
	}

	kt := tpl.Tables["KeysTable"]
	in := kt.CreateTableInput("local-keys")
	if got := aws.ToString(in.TableName); got != "local-keys" {
		t.Errorf("TableName = %q", got)
	}
	if in.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("BillingMode = %q", in.BillingMode)
	}
	if got := keys(in.KeySchema); !slices.Equal(got, []string{"key_hash:HASH"}) {
		t.Errorf("keys table KeySchema = %v", got)
	}
	if len(in.GlobalSecondaryIndexes) != 0 {
		t.Fatalf("keys table GSIs = %d, want none (keys are listed through their references in AppTable)", len(in.GlobalSecondaryIndexes))
	}
	if len(in.AttributeDefinitions) != 1 {
		t.Errorf("keys table attribute definitions = %d, want 1", len(in.AttributeDefinitions))
	}
	if kt.TTLAttribute != "" {
		t.Errorf("keys table TTL = %q, want none", kt.TTLAttribute)
	}

	at := tpl.Tables["AppTable"]
	ain := at.CreateTableInput("local-app")
	if got := keys(ain.KeySchema); !slices.Equal(got, []string{"PK:HASH", "SK:RANGE"}) {
		t.Errorf("app table KeySchema = %v", got)
	}
	if g := ain.GlobalSecondaryIndexes; len(g) != 3 || aws.ToString(g[0].IndexName) != "GSI1" || aws.ToString(g[2].IndexName) != "GSI2" ||
		g[0].Projection.ProjectionType != types.ProjectionTypeAll || g[2].Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("app table GSIs = %+v", g)
	} else if aws.ToString(g[1].IndexName) != "open_checkouts" || g[1].Projection.ProjectionType != types.ProjectionTypeKeysOnly ||
		!slices.Equal(keys(g[1].KeySchema), []string{"open_shard:HASH", "open_expires_at:RANGE"}) {
		t.Errorf("app table's open index = %s %v %+v", aws.ToString(g[1].IndexName), keys(g[1].KeySchema), *g[1].Projection)
	}
	if s := ain.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) || s.StreamViewType != types.StreamViewTypeNewImage || at.StreamViewType != "NEW_IMAGE" {
		t.Errorf("app table stream = %+v, %q; want NEW_IMAGE", s, at.StreamViewType)
	}
	if kin := kt.CreateTableInput("k"); kin.StreamSpecification != nil || kt.StreamViewType != "" {
		t.Errorf("keys table stream = %+v, want none", kin.StreamSpecification)
	}
	if at.TTLAttribute != "ttl" {
		t.Errorf("app table TTL = %q, want ttl", at.TTLAttribute)
	}

	// Each call must hand out its own slices.
	in.KeySchema[0].AttributeName = aws.String("mutated")
	if got := keys(kt.CreateTableInput("x").KeySchema); got[0] != "key_hash:HASH" {
		t.Errorf("CreateTableInput shares state between calls: %v", got)
	}
}

func TestRealTemplateAuthorizers(t *testing.T) {
	tpl := loadReal(t)
	api := tpl.HTTPAPIs["HttpApi"]
	if api == nil {
		t.Fatal("no HttpApi")
	}

	ak := api.Authorizers["ApiKeyAuthorizer"]
	if ak == nil || ak.Lambda == nil || ak.JWT != nil {
		t.Fatalf("ApiKeyAuthorizer = %+v, want a Lambda authorizer", ak)
	}
	l := ak.Lambda
	if l.Function != "AuthorizerFunction" || !l.FunctionArn.IsGetAtt("AuthorizerFunction", "Arn") {
		t.Errorf("ApiKeyAuthorizer function = %q (%s)", l.Function, l.FunctionArn)
	}
	if l.ReauthorizeEvery == nil || *l.ReauthorizeEvery != 0 {
		t.Errorf("ReauthorizeEvery = %v, want explicitly 0 (no decision caching)", l.ReauthorizeEvery)
	}
	if !l.EnableSimpleResponses || l.PayloadFormatVersion != "2.0" || !slices.Equal(l.IdentityHeaders, []string{"Authorization"}) {
		t.Errorf("ApiKeyAuthorizer = %+v", *l)
	}

	da := api.Authorizers["DashboardAuthorizer"]
	if da == nil || da.JWT == nil {
		t.Fatalf("DashboardAuthorizer = %+v, want JWT", da)
	}
	if da.JWT.IdentitySource != "$request.header.Authorization" {
		t.Errorf("IdentitySource = %q", da.JWT.IdentitySource)
	}
	iss, err := tpl.Resolve(da.JWT.Issuer, map[string]string{"AWS::Region": "eu-west-1", "UserPool": "eu-west-1_abc"})
	if err != nil || iss != "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc" {
		t.Errorf("issuer = %q, %v", iss, err)
	}
	if len(da.JWT.Audience) != 1 || !da.JWT.Audience[0].IsRef("UserPoolClient") {
		t.Errorf("audience = %v", da.JWT.Audience)
	}
	if api.CORS != nil {
		t.Errorf("CORS = %v; the template sets none on HttpApi", api.CORS)
	}
}

func TestRealTemplateRoutes(t *testing.T) {
	tpl := loadReal(t)
	routes := tpl.Routes()
	// The template grows; these routes must stay as they are.
	for _, want := range []Route{
		{"ListProjectsFunction", "Api", "HttpApi", "GET", "/projects", "DashboardAuthorizer"},
		{"CreateProjectFunction", "Api", "HttpApi", "POST", "/projects", "DashboardAuthorizer"},
		{"ListKeysFunction", "Api", "HttpApi", "GET", "/projects/{project_id}/keys", "DashboardAuthorizer"},
		{"CreateKeyFunction", "Api", "HttpApi", "POST", "/projects/{project_id}/keys", "DashboardAuthorizer"},
		{"DeleteKeyFunction", "Api", "HttpApi", "DELETE", "/projects/{project_id}/keys/{key_id}", "DashboardAuthorizer"},
		{"WhoamiFunction", "Api", "HttpApi", "GET", "/v1/whoami", "ApiKeyAuthorizer"},
	} {
		if !slices.Contains(routes, want) {
			t.Errorf("missing route %+v in\n%v", want, routes)
		}
	}
	if !slices.IsSortedFunc(routes, func(a, b Route) int { return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method) }) {
		t.Errorf("Routes() not sorted by path and method: %v", routes)
	}
	for _, r := range routes {
		if strings.HasPrefix(r.Path, "/public/") || strings.HasPrefix(r.Path, "/c/") ||
			strings.HasPrefix(r.Path, "/b/") || r.Path == "/button.js" {
			// The buy button's routes, its script and page, and the hosted checkout page are
			// open, on their own API (PublicApi).
			if r.Authorizer != "" || r.API != "PublicApi" {
				t.Errorf("%s %s: public routes take no authorizer and live on PublicApi; got %q on %s", r.Method, r.Path, r.Authorizer, r.API)
			}
			continue
		}
		if tpl.HTTPAPIs[r.API].Authorizers[r.Authorizer] == nil {
			t.Errorf("%s %s: authorizer %q not defined on %s", r.Method, r.Path, r.Authorizer, r.API)
		}
		if strings.HasPrefix(r.Path, "/v1/") != (r.Authorizer == "ApiKeyAuthorizer") {
			t.Errorf("%s %s uses %s; /v1 routes take API keys, the buyers' routes none, all others dashboard tokens", r.Method, r.Path, r.Authorizer)
		}
	}
}

func TestRealTemplateFunctions(t *testing.T) {
	tpl := loadReal(t)
	for _, id := range []string{"AuthorizerFunction", "CreateProjectFunction", "ListProjectsFunction", "CreateKeyFunction",
		"ListKeysFunction", "DeleteKeyFunction", "WhoamiFunction"} {
		if tpl.Functions[id] == nil {
			t.Errorf("no function %s", id)
		}
	}
	// DeliverWebhooksFunction sets its own Timeout (a batch of receivers, 15 s each).
	if f := tpl.Functions["DeliverWebhooksFunction"]; f != nil && f.Timeout != 60 {
		t.Errorf("DeliverWebhooksFunction: Timeout %d, want its own 60 over the globals' 10", f.Timeout)
	}
	for id, f := range tpl.Functions {
		if f.LogicalID != id || f.Runtime != "provided.al2023" || !slices.Equal(f.Architectures, []string{"arm64"}) ||
			f.Handler != "bootstrap" || f.LogFormat != "JSON" || f.MemorySize != 256 || f.Timeout != 10 && f.Schedules == nil && id != "DeliverWebhooksFunction" {
			t.Errorf("%s: globals not merged: %+v", id, f)
		}
		if !f.Environment["KEYS_TABLE"].IsRef("KeysTable") ||
			!f.Environment["APP_TABLE"].IsRef("AppTable") {
			t.Errorf("%s: environment = %v", id, f.Environment)
		}
		if f.BuildMethod != "makefile" {
			t.Errorf("%s: build %q", id, f.BuildMethod)
		}
	}

	ck := tpl.Functions["CreateKeyFunction"]
	if len(ck.Statements) != 2 {
		t.Fatalf("CreateKeyFunction statements = %+v", ck.Statements)
	}
	put := ck.Statements[1]
	if put.Effect != "Allow" || !slices.Equal(put.Action, []string{"dynamodb:PutItem"}) ||
		!reflect.DeepEqual(put.Resource, []Value{{Fn: FnGetAtt, Target: "AppTable", Attribute: "Arn"}, {Fn: FnGetAtt, Target: "KeysTable", Attribute: "Arn"}}) {
		t.Errorf("CreateKeyFunction PutItem statement = %+v", put)
	}
	q := tpl.Functions["ListCheckoutsFunction"].Statements[1]
	if !reflect.DeepEqual(q.Resource[0], Value{Fn: FnSub, Template: "${AppTable.Arn}/index/GSI1"}) {
		t.Errorf("ListCheckoutsFunction Query resource = %v", q.Resource)
	}
	if table, index, ok := q.Resource[0].TableARN(); !ok || table != "AppTable" || index != "GSI1" {
		t.Errorf("TableARN() = %q, %q, %v", table, index, ok)
	}
	if table, index, ok := put.Resource[1].TableARN(); !ok || table != "KeysTable" || index != "" {
		t.Errorf("TableARN() = %q, %q, %v", table, index, ok)
	}
	if n := len(tpl.Functions["WhoamiFunction"].Statements); n != 0 {
		t.Errorf("WhoamiFunction has %d statements; it touches no table", n)
	}
}

// The sweeper runs on a schedule, with its own timeout: it bounds each run by the deadline.
func TestRealTemplateSchedules(t *testing.T) {
	tpl := loadReal(t)
	got := tpl.Schedules()
	if len(got) != 1 || got[0].Function != "SweepCheckoutsFunction" || got[0].Every != time.Minute {
		t.Errorf("Schedules() = %+v, want SweepCheckoutsFunction every minute", got)
	}
	if f := tpl.Functions["SweepCheckoutsFunction"]; f == nil || f.Timeout <= 10 || len(f.Events) != 0 {
		t.Errorf("SweepCheckoutsFunction = %+v, want no route and a longer timeout than a route's", f)
	}
}

func TestRealTemplateCognito(t *testing.T) {
	tpl := loadReal(t)
	pool := tpl.UserPools["UserPool"]
	if pool == nil {
		t.Fatal("no UserPool")
	}
	name, err := tpl.Resolve(pool.Name, nil)
	if err != nil || name != "codex-dev-users" {
		t.Errorf("pool name = %q, %v (Stage should fall back to its default)", name, err)
	}
	want := PasswordPolicy{MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true}
	if pool.PasswordPolicy == nil || *pool.PasswordPolicy != want {
		t.Errorf("password policy = %+v", pool.PasswordPolicy)
	}
	if !slices.Equal(pool.AutoVerifiedAttributes, []string{"email"}) || pool.AllowAdminCreateUserOnly {
		t.Errorf("pool = %+v", pool)
	}
	c := tpl.UserPoolClients["UserPoolClient"]
	if c == nil || c.UserPool != "UserPool" || c.GenerateSecret ||
		!slices.Equal(c.ExplicitAuthFlows, []string{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}) {
		t.Fatalf("client = %+v", c)
	}
	if c.IDTokenValidity != 1 || c.AccessTokenValidity != 1 || c.TokenValidityUnits.IDToken != "hours" ||
		c.PreventUserExistenceErrors != "ENABLED" {
		t.Errorf("client = %+v", c)
	}
	if p := tpl.Parameters["Stage"]; p.Default == nil || *p.Default != "dev" {
		t.Errorf("Stage = %+v", p)
	}
}
