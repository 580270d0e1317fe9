package checks

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"codex/infra/samtemplate"
)

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := tpl.Validate(); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tpl
}

// ownResource is the resource type each service's actions may name: the template's own.
var ownResource = map[string]string{"dynamodb": samtemplate.TypeTable, "sqs": "AWS::SQS::Queue", "kms": "AWS::KMS::Key"}

// TestLeastPrivilege: every function's permissions are inline statements naming exact actions on
// this template's own tables (or their indexes), queues and KMS keys. No wildcard; NotAction, NotResource, SAM policy
// templates and managed policies (they grant more than one action) fail samtemplate's parse; the
// authorizer may only GetItem on the keys table.
func TestLeastPrivilege(t *testing.T) {
	tpl := loadTemplate(t)
	for _, f := range tpl.Functions {
		for i, s := range f.Statements {
			where := fmt.Sprintf("%s statement %d", f.LogicalID, i)
			if s.Effect != "Allow" {
				t.Errorf("%s: only plain Allow statements are expected", where)
			}
			if len(s.Action) == 0 || len(s.Resource) == 0 {
				t.Errorf("%s: no action or resource", where)
			}
			service := ""
			for _, a := range s.Action {
				svc, _, _ := strings.Cut(a, ":")
				if strings.Contains(a, "*") || ownResource[svc] == "" {
					t.Errorf("%s: action %q is a wildcard or not a DynamoDB, SQS or KMS action", where, a)
				}
				if service != "" && svc != service {
					t.Errorf("%s: actions of two services in one statement", where)
				}
				service = svc
			}
			for _, r := range s.Resource {
				if service == "dynamodb" {
					if table, _, ok := r.TableARN(); !ok || tpl.Tables[table] == nil {
						t.Errorf("%s: resource %s is not one of this template's tables or indexes", where, r)
					}
				} else if typ := ownResource[service]; typ != "" && (!r.IsGetAtt(r.Target, "Arn") || tpl.Resources[r.Target] != typ) {
					t.Errorf("%s: resource %s is not !GetAtt <a %s of this template>.Arn", where, r, typ)
				}
			}
		}
	}

	auth := tpl.Functions["AuthorizerFunction"]
	if auth == nil {
		t.Fatal("no AuthorizerFunction")
	}
	// The key read; the last-use write (keys table only); the audit record of a browser refusal.
	want := []struct{ action, table string }{
		{"dynamodb:GetItem", "KeysTable"}, {"dynamodb:UpdateItem", "KeysTable"}, {"dynamodb:PutItem", "AppTable"},
	}
	ok := len(auth.Statements) == len(want)
	for i := 0; ok && i < len(want); i++ {
		st := auth.Statements[i]
		ok = slices.Equal(st.Action, []string{want[i].action}) && len(st.Resource) == 1 && st.Resource[0].IsGetAtt(want[i].table, "Arn")
	}
	if !ok {
		t.Fatalf("the authorizer must hold exactly %v, has %+v", want, auth.Statements)
	}
}

// TestAPIKeyAuthorizerNeverCaches: revocation is immediate only if API Gateway asks the authorizer
// on every request.
func TestAPIKeyAuthorizerNeverCaches(t *testing.T) {
	tpl := loadTemplate(t)
	var found bool
	for _, api := range tpl.HTTPAPIs {
		for name, a := range api.Authorizers {
			if a.Lambda == nil {
				continue
			}
			found = true
			l := a.Lambda
			if l.ReauthorizeEvery == nil || *l.ReauthorizeEvery != 0 {
				t.Errorf("%s: ReauthorizeEvery must be set explicitly to 0", name)
			}
			if l.PayloadFormatVersion != "2.0" || !l.EnableSimpleResponses || !slices.Equal(l.IdentityHeaders, []string{"Authorization"}) {
				t.Errorf("%s: want payload 2.0, simple responses, identity header Authorization; got %+v", name, l)
			}
		}
	}
	if !found {
		t.Fatal("no Lambda authorizer in the template")
	}
}

// TestRoutesUseTheRightAuthorizer: merchant routes need an API key, dashboard routes a user token,
// and only public routes (publicPath) are open.
func TestRoutesUseTheRightAuthorizer(t *testing.T) {
	tpl := loadTemplate(t)
	for _, r := range tpl.Routes() {
		var want string
		switch {
		case strings.HasPrefix(r.Path, "/v1/"):
			want = "ApiKeyAuthorizer"
		case publicPath(r.Path):
			want = ""
		default:
			want = "DashboardAuthorizer"
		}
		if r.Authorizer != want {
			t.Errorf("%s %s uses authorizer %q, want %q", r.Method, r.Path, r.Authorizer, want)
		}
	}
}
