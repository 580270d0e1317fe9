package localawstest

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"codex/infra/localaws"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var testEnv *Env

func TestMain(m *testing.M) {
	env, cleanup, err := Setup(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv = env
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func TestSetupEnvironment(t *testing.T) {
	t.Log(testEnv)
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		t.Error("no region in the environment")
	}
	if got := os.Getenv(envEndpointDynamoDB); got != testEnv.DynamoDBEndpoint && os.Getenv(envEndpoint) != testEnv.DynamoDBEndpoint {
		t.Errorf("%s = %q, want %q", envEndpointDynamoDB, got, testEnv.DynamoDBEndpoint)
	}
	if testEnv.Moto != nil && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		t.Error("no credentials in the environment")
	}
}

func keySchema(ks []ddbtypes.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return out
}

func TestTablesMatchTemplate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	names := testEnv.NewTables(t)
	if len(names) != len(testEnv.Template.Tables) || names["KeysTable"] == "" || names["AppTable"] == "" {
		t.Fatalf("names = %v", names)
	}
	for id, name := range names {
		want := testEnv.Template.Tables[id].CreateTableInput(name)
		out, err := testEnv.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		got := out.Table
		if got.TableStatus != ddbtypes.TableStatusActive {
			t.Errorf("%s: status %s", id, got.TableStatus)
		}
		if got.BillingModeSummary == nil || got.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest {
			t.Errorf("%s: billing %+v", id, got.BillingModeSummary)
		}
		if !slices.Equal(keySchema(got.KeySchema), keySchema(want.KeySchema)) {
			t.Errorf("%s: key schema %v, want %v", id, keySchema(got.KeySchema), keySchema(want.KeySchema))
		}
		if len(got.AttributeDefinitions) != len(want.AttributeDefinitions) {
			t.Errorf("%s: %d attribute definitions, want %d", id, len(got.AttributeDefinitions), len(want.AttributeDefinitions))
		}
		if len(got.GlobalSecondaryIndexes) != len(want.GlobalSecondaryIndexes) {
			t.Fatalf("%s: %d GSIs, want %d", id, len(got.GlobalSecondaryIndexes), len(want.GlobalSecondaryIndexes))
		}
		for i, w := range want.GlobalSecondaryIndexes {
			g := got.GlobalSecondaryIndexes[i]
			if aws.ToString(g.IndexName) != aws.ToString(w.IndexName) ||
				!slices.Equal(keySchema(g.KeySchema), keySchema(w.KeySchema)) ||
				g.Projection.ProjectionType != w.Projection.ProjectionType ||
				!slices.Equal(g.Projection.NonKeyAttributes, w.Projection.NonKeyAttributes) {
				t.Errorf("%s: GSI %s %v %+v, want %s %v %+v", id, aws.ToString(g.IndexName), keySchema(g.KeySchema), *g.Projection,
					aws.ToString(w.IndexName), keySchema(w.KeySchema), *w.Projection)
			}
		}

		ttl, err := testEnv.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		d := ttl.TimeToLiveDescription
		if attr := testEnv.Template.Tables[id].TTLAttribute; attr != "" {
			if d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != attr {
				t.Errorf("%s: TTL %s on %q, want ENABLED on %q", id, d.TimeToLiveStatus, aws.ToString(d.AttributeName), attr)
			}
		} else if d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled {
			t.Errorf("%s: TTL enabled, the template does not enable it", id)
		}
	}
	if testEnv.Template.Tables["AppTable"].TTLAttribute != "ttl" {
		t.Error("the app table's TTL is on ttl")
	}
}

func TestNewTablesIsolatesAndCleansUp(t *testing.T) {
	t.Parallel()
	var first, second map[string]string
	t.Run("a", func(t *testing.T) { first = testEnv.NewTables(t) })
	t.Run("b", func(t *testing.T) {
		second = testEnv.NewTables(t)
		if first["KeysTable"] == second["KeysTable"] {
			t.Errorf("two tests got the same table %s", first["KeysTable"])
		}
	})
	for _, name := range []string{first["KeysTable"], first["AppTable"], second["KeysTable"]} {
		_, err := testEnv.DynamoDB.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("table %s still exists after its test ended (err %v)", name, err)
		}
	}
}

// jwtPart decodes one base64url part of a JWT.
func jwtPart(t *testing.T, tok string, i int, v any) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestUserPoolSignInAndJWKS(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	poolID, clientID := testEnv.NewUserPool(t)

	pool, err := testEnv.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(poolID)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(pool.UserPool.Name); got != "codex-dev-users" {
		t.Errorf("pool name = %q", got)
	}
	if pp := pool.UserPool.Policies.PasswordPolicy; aws.ToInt32(pp.MinimumLength) != 12 || !pp.RequireUppercase || pp.RequireSymbols {
		t.Errorf("password policy = %+v", pp)
	}
	cl, err := testEnv.Cognito.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(poolID), ClientId: aws.String(clientID)})
	if err != nil {
		t.Fatal(err)
	}
	wantFlows := []ciptypes.ExplicitAuthFlowsType{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"}
	if !slices.Equal(cl.UserPoolClient.ExplicitAuthFlows, wantFlows) || cl.UserPoolClient.ClientSecret != nil {
		t.Errorf("client flows = %v, secret %v", cl.UserPoolClient.ExplicitAuthFlows, cl.UserPoolClient.ClientSecret != nil)
	}

	tok := testEnv.NewUser(t, poolID, clientID, "dev@example.com")
	var header struct{ Alg, Kid string }
	jwtPart(t, tok, 0, &header)
	var claims struct {
		Iss, Aud, Email string
		TokenUse        string `json:"token_use"`
		Exp, Iat        int64
	}
	jwtPart(t, tok, 1, &claims)
	wantIss := "https://cognito-idp." + testEnv.Region + ".amazonaws.com/" + poolID
	if header.Alg != "RS256" || claims.Iss != wantIss || claims.Aud != clientID || claims.TokenUse != "id" ||
		claims.Email != "dev@example.com" {
		t.Errorf("header %+v, claims %+v; want RS256, iss %s, aud %s", header, claims, wantIss, clientID)
	}
	t.Logf("ID token lifetime: %s", time.Duration(claims.Exp-claims.Iat)*time.Second)

	if testEnv.Moto == nil || testEnv.CognitoEndpoint != testEnv.Moto.Endpoint() {
		t.Skip("JWKS location checked only against moto")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, testEnv.CognitoEndpoint+"/"+poolID+"/.well-known/jwks.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, Kty, Alg, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS: %s, %v", resp.Status, err)
	}
	// The token must verify with the JWKS key its kid names, as API Gateway's JWT authorizer does.
	i := slices.IndexFunc(jwks.Keys, func(k struct{ Kid, Kty, Alg, N, E string }) bool { return k.Kid == header.Kid })
	if i < 0 {
		t.Fatalf("kid %q not in JWKS %+v", header.Kid, jwks.Keys)
	}
	n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[i].N)
	e, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[i].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	signed := tok[:strings.LastIndexByte(tok, '.')]
	sum := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], jwtPart(t, tok, 2, nil)); err != nil {
		t.Errorf("ID token does not verify against the JWKS: %v", err)
	}
}

// TestSetupUsesEndpointFromEnvironment runs sequentially (t.Setenv): Setup must use an endpoint
// the environment names instead of starting moto.
func TestSetupUsesEndpointFromEnvironment(t *testing.T) {
	ext, err := localaws.StartMoto(t.Context(), localaws.Options{}) // stands in for DynamoDB Local or LocalStack
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Stop() })
	t.Setenv(envEndpoint, ext.Endpoint())
	t.Setenv(envEndpointDynamoDB, "")
	t.Setenv(envEndpointCognito, "")

	env, cleanup, err := Setup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if env.Moto != nil || env.DynamoDBEndpoint != ext.Endpoint() || env.CognitoEndpoint != ext.Endpoint() {
		t.Fatalf("env = %v, moto started: %v", env, env.Moto != nil)
	}
	var names map[string]string
	t.Run("tables", func(t *testing.T) { names = env.NewTables(t) })
	if len(names) == 0 {
		t.Fatal("no tables")
	}
	// The tables went to ext, not to the shared server.
	_, err = testEnv.DynamoDB.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(names["KeysTable"])})
	var nf *ddbtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("table %s found on the shared server (err %v)", names["KeysTable"], err)
	}
}

func TestNeedDummyCredentials(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} {
		t.Setenv(k, "")
	}
	if !needDummyCredentials(true) || !needDummyCredentials(false) {
		t.Error("no credentials anywhere: want dummy ones")
	}
	t.Setenv("AWS_PROFILE", "sso-dev")
	if !needDummyCredentials(true) {
		t.Error("moto only: a profile must not be used")
	}
	if needDummyCredentials(false) {
		t.Error("maybe real AWS: the profile must be kept")
	}
	t.Setenv("AWS_PROFILE", "")
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if needDummyCredentials(false) {
		t.Error("maybe real AWS: the default profile must be kept")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIA...")
	if needDummyCredentials(true) {
		t.Error("credentials in the environment must never be replaced")
	}
}
