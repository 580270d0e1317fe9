// Package localawstest is the local AWS of tests, as net/http/httptest is for handlers: Setup points
// the test binary at moto (started by localaws) or at the endpoints the environment names, and Env
// creates each test's own tables, user pool and users, removed when the test ends. Only tests
// import it, so that `make dev`'s binary does not link package testing.
package localawstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"codex/infra/localaws"
	"codex/infra/samtemplate"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Environment variables the SDKs (Go, boto3, CLI v2) read for per-service endpoints.
const (
	envEndpoint         = "AWS_ENDPOINT_URL"
	envEndpointDynamoDB = "AWS_ENDPOINT_URL_DYNAMODB"
	envEndpointCognito  = "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"
)

// Env is the AWS a test binary talks to. Setup creates its clients once; tests share them and the
// server, and isolate themselves with uniquely named tables (NewTables) and pools (NewUserPool).
type Env struct {
	Region           string
	DynamoDBEndpoint string
	CognitoEndpoint  string
	DynamoDB         *dynamodb.Client
	Cognito          *cip.Client
	Template         *samtemplate.Template
	// Moto is the server Setup started, or nil when the environment named every endpoint.
	Moto *localaws.Server
}

// Setup prepares the process for tests against local AWS, typically from TestMain:
//
//	func TestMain(m *testing.M) {
//		env, cleanup, err := localawstest.Setup(context.Background())
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		testEnv = env
//		code := m.Run()
//		cleanup()
//		os.Exit(code)
//	}
//
// A service whose endpoint is already in the environment (AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, or AWS_ENDPOINT_URL for both) uses it: DynamoDB
// Local, LocalStack, or real AWS. Setup starts moto for the others and sets their endpoint
// variables, so code under test that calls config.LoadDefaultConfig reaches the same endpoints
// with no test-only wiring. It also defaults AWS_REGION to us-east-1 and, when no credentials are
// configured, sets dummy ones, which saves the SDK from probing EC2 instance metadata. cleanup stops
// moto and restores the variables.
func Setup(ctx context.Context) (env *Env, cleanup func(), err error) {
	var restore []func()
	cleanup = func() {
		for i := len(restore) - 1; i >= 0; i-- {
			restore[i]()
		}
	}
	setenv := func(k, v string) {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		restore = append(restore, func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}
	defer func() {
		if err != nil {
			cleanup()
			cleanup = nil
		}
	}()

	tplPath, err := findTemplate()
	if err != nil {
		return nil, nil, err
	}
	tpl, err := samtemplate.Load(tplPath)
	if err != nil {
		return nil, nil, err
	}
	env = &Env{Template: tpl}

	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		setenv("AWS_REGION", "us-east-1")
	}
	env.DynamoDBEndpoint = firstEnv(envEndpointDynamoDB, envEndpoint)
	env.CognitoEndpoint = firstEnv(envEndpointCognito, envEndpoint)
	if env.DynamoDBEndpoint == "" || env.CognitoEndpoint == "" {
		srv, err := localaws.StartMoto(ctx, localaws.Options{})
		if err != nil {
			return nil, nil, err
		}
		restore = append(restore, func() { _ = srv.Stop() })
		env.Moto = srv
		if env.DynamoDBEndpoint == "" {
			env.DynamoDBEndpoint = srv.Endpoint()
			setenv(envEndpointDynamoDB, srv.Endpoint())
		}
		if env.CognitoEndpoint == "" {
			env.CognitoEndpoint = srv.Endpoint()
			setenv(envEndpointCognito, srv.Endpoint())
		}
	}
	allMoto := env.Moto != nil && env.DynamoDBEndpoint == env.Moto.Endpoint() && env.CognitoEndpoint == env.Moto.Endpoint()
	if needDummyCredentials(allMoto) {
		setenv("AWS_ACCESS_KEY_ID", "test")
		setenv("AWS_SECRET_ACCESS_KEY", "test")
	}

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	env.Region = cfg.Region
	env.DynamoDB = dynamodb.NewFromConfig(cfg)
	env.Cognito = cip.NewFromConfig(cfg)
	return env, cleanup, nil
}

func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// needDummyCredentials reports whether to set AWS_ACCESS_KEY_ID=test. Never when credentials are
// in the environment. When moto serves every service, dummy keys are always right (moto accepts
// anything, and an expired SSO profile would otherwise fail the run); when some endpoint may be
// real AWS, only if there is no shared config a real profile could come from.
func needDummyCredentials(allMoto bool) bool {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if os.Getenv(k) != "" && (k == "AWS_ACCESS_KEY_ID" || !allMoto) {
			return false
		}
	}
	if allMoto {
		return true
	}
	home, _ := os.UserHomeDir()
	for _, f := range []string{
		firstEnv("AWS_SHARED_CREDENTIALS_FILE"), filepath.Join(home, ".aws", "credentials"),
		firstEnv("AWS_CONFIG_FILE"), filepath.Join(home, ".aws", "config"),
	} {
		if _, err := os.Stat(f); f != "" && err == nil {
			return false
		}
	}
	return true
}

// findTemplate returns template.yaml in the module root: the nearest directory at or above the
// working directory (a test's package directory) that holds go.mod.
func findTemplate() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "template.yaml"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("localawstest: no go.mod at or above the working directory, so no template.yaml")
		}
		dir = parent
	}
}

// cleanupTimeout bounds deletions in t.Cleanup, where the test's own context is already done.
const cleanupTimeout = 30 * time.Second

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// uniquePrefix names one test's resources: readable in moto's log, unique across parallel tests
// and repeated runs against a shared endpoint.
func uniquePrefix(t testing.TB) string {
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return name + "-" + hex.EncodeToString(b)
}

// NewTables creates a fresh copy of every template table for t, named "<test>-<random>-<logical
// id>", and deletes them when t ends. It returns logical id → physical name, e.g.
// names["KeysTable"]. Call it from the test's goroutine (it fails t with Fatal).
func (e *Env) NewTables(t testing.TB) map[string]string {
	t.Helper()
	prefix := uniquePrefix(t)
	names := map[string]string{}
	for id := range e.Template.Tables {
		names[id] = prefix + "-" + id
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		for id, name := range names {
			_, err := e.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			var notFound *ddbtypes.ResourceNotFoundException
			if err != nil && !errors.As(err, &notFound) {
				t.Errorf("delete table %s (%s): %v", id, name, err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := localaws.CreateTables(ctx, e.DynamoDB, e.Template, names); err != nil {
		t.Fatal(err)
	}
	return names
}

// NewUserPool creates the template's user pool and client for t (see CreateUserPool) and deletes
// the pool when t ends.
func (e *Env) NewUserPool(t testing.TB) (poolID, clientID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	poolID, clientID, err := localaws.CreateUserPool(ctx, e.Cognito, e.Template)
	if poolID != "" {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			defer cancel()
			if _, err := e.Cognito.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(poolID)}); err != nil {
				t.Errorf("delete user pool %s: %v", poolID, err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return poolID, clientID
}

// NewUser creates a confirmed user with a verified email in the pool and signs in with
// USER_PASSWORD_AUTH, returning the ID token a dashboard request carries as its bearer token.
func (e *Env) NewUser(t testing.TB, poolID, clientID, email string) (idToken string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Satisfies any password policy: upper, lower, digit, symbol, 32+ characters.
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	password := "Aa1!" + hex.EncodeToString(b)

	_, err := e.Cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:    aws.String(poolID),
		Username:      aws.String(email),
		MessageAction: ciptypes.MessageActionTypeSuppress,
		UserAttributes: []ciptypes.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
	})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	_, err = e.Cognito.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(poolID), Username: aws.String(email), Password: aws.String(password), Permanent: true,
	})
	if err != nil {
		t.Fatalf("set password of %s: %v", email, err)
	}
	out, err := e.Cognito.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId:       aws.String(clientID),
		AuthFlow:       ciptypes.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password},
	})
	if err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
	if out.AuthenticationResult == nil || out.AuthenticationResult.IdToken == nil {
		t.Fatalf("sign in as %s: no tokens (challenge %q)", email, out.ChallengeName)
	}
	return aws.ToString(out.AuthenticationResult.IdToken)
}

// String describes where the environment points, for test logs.
func (e *Env) String() string {
	return fmt.Sprintf("region %s, DynamoDB %s, Cognito %s", e.Region, e.DynamoDBEndpoint, e.CognitoEndpoint)
}
