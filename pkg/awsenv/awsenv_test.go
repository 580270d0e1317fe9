package awsenv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// read are the variables Config reads; inert are those package config reads that change nothing
// when the credentials are in the environment and there are no shared config files: other
// credential sources, IMDS, S3-only settings, the SDK's own cache files, the execution environment
// (read only in the refused AWS_DEFAULTS_MODE=auto).
var (
	read = []string{
		"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"AWS_ACCOUNT_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
	}
	inert = []string{
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
		"AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
		"AWS_EC2_METADATA_V1_DISABLED", "AWS_LOGIN_CACHE_DIRECTORY", "AWS_RESTRICT_FILE_PERMISSIONS",
		"AWS_S3_DISABLE_EXPRESS_SESSION_AUTH", "AWS_S3_DISABLE_MULTIREGION_ACCESS_POINTS", "AWS_S3_USE_ARN_REGION",
		"AWS_EXECUTION_ENV",
	}
)

// TestEveryVariableClassified reads package config's source: a variable an SDK upgrade starts to
// read must be classified here (and implemented or refused) before it can be silently ignored.
func TestEveryVariableClassified(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2/config").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no source of package config in %s: %v", dir, err)
	}
	known := slices.Concat(read, inert, refused)
	found := map[string]bool{}
	literal := regexp.MustCompile(`"(AWS_[A-Z0-9_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			found[m[1]] = true
		}
	}
	if len(found) < 30 {
		t.Fatalf("found only %d variables in %s: is this still where they are?", len(found), dir)
	}
	for _, k := range slices.Sorted(maps.Keys(found)) {
		if !slices.Contains(known, k) {
			t.Errorf("package config reads %s, which awsenv neither reads, refuses nor lists as inert", k)
		}
	}
	for _, k := range known {
		if !found[k] {
			t.Errorf("%s is classified but package config no longer reads it", k)
		}
	}
}

// clearEnv leaves the test only the variables given, and no shared config files.
func clearEnv(t *testing.T, env map[string]string) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k) // unset, not empty: the DynamoDB client looks the endpoint variables up
		}
	}
	t.Setenv("HOME", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
}

var lambdaEnv = map[string]string{
	"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
	"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
	"AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023", "AWS_LAMBDA_FUNCTION_NAME": "f",
}

func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

var errStop = errors.New("stopped before sending")

// sent is what a client would send for a GetItem: the signed request as it leaves the client.
type sent struct {
	url, scope, token, userAgent string
}

func send(t *testing.T, cfg aws.Config) sent {
	t.Helper()
	var s sent
	capture := middleware.FinalizeMiddlewareFunc("capture", func(ctx context.Context, in middleware.FinalizeInput, _ middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		req := in.Request.(*smithyhttp.Request)
		auth := req.Header.Get("Authorization")
		s.scope, _, _ = strings.Cut(auth, ", Signature=") // the signature covers the time
		s.url, s.token, s.userAgent = req.URL.String(), req.Header.Get("X-Amz-Security-Token"), req.Header.Get("User-Agent")
		return middleware.FinalizeOutput{}, middleware.Metadata{}, errStop
	})
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error { return st.Finalize.Add(capture, middleware.After) })
	})
	_, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String("t"),
		Key:       map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "x"}},
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("GetItem: %v, want the capture to stop it", err)
	}
	return s
}

// TestMatchesLoadDefaultConfig sends a request with each configuration in each environment and
// compares what would go on the wire (endpoint, signing scope, credentials, user agent with its
// credential-source and feature marks) and the client options and credentials behind it.
func TestMatchesLoadDefaultConfig(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"lambda":                  lambdaEnv,
		"dynamodb endpoint":       with(lambdaEnv, "AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566"),
		"every service endpoint":  with(lambdaEnv, "AWS_ENDPOINT_URL", "http://127.0.0.1:4567"),
		"both endpoints":          with(lambdaEnv, "AWS_ENDPOINT_URL", "http://127.0.0.1:4567", "AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566"),
		"other service endpoint":  with(lambdaEnv, "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:4568"),
		"account id":              with(lambdaEnv, "AWS_ACCOUNT_ID", "123456789012"),
		"default region only":     with(lambdaEnv, "AWS_REGION", "", "AWS_DEFAULT_REGION", "us-west-2"),
		"aliases, no token":       with(lambdaEnv, "AWS_ACCESS_KEY_ID", "", "AWS_ACCESS_KEY", "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY", "", "AWS_SECRET_KEY", "s2", "AWS_SESSION_TOKEN", ""),
		"inert variables":         with(lambdaEnv, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds", "AWS_EC2_METADATA_DISABLED", "true", "AWS_S3_USE_ARN_REGION", "true", "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", "AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent"),
		"no region":               with(lambdaEnv, "AWS_REGION", "", "AWS_DEFAULT_REGION", "", "AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566"),
		"endpoint with base path": with(lambdaEnv, "AWS_ENDPOINT_URL_DYNAMODB", "https://proxy.example/ddb"),
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t, env)
			want, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, err := Config()
			if err != nil {
				t.Fatal(err)
			}
			if g, w := send(t, got), send(t, want); g != w {
				t.Errorf("request\n got %+v\nwant %+v", g, w)
			}
			gc, err1 := got.Credentials.Retrieve(context.Background())
			wc, err2 := want.Credentials.Retrieve(context.Background())
			if err1 != nil || err2 != nil || gc != wc {
				t.Errorf("credentials: got %+v (%v), want %+v (%v)", gc, err1, wc, err2)
			}
			gs := got.Credentials.(aws.CredentialProviderSource).ProviderSources()
			ws := want.Credentials.(aws.CredentialProviderSource).ProviderSources()
			if !slices.Equal(gs, ws) {
				t.Errorf("credential sources: got %v, want %v", gs, ws)
			}
			compareOptions(t, dynamodb.NewFromConfig(got).Options(), dynamodb.NewFromConfig(want).Options())
		})
	}
}

// compareOptions compares every option of the two clients that is data; functions and
// interfaces (HTTP client, retryer, logger, resolvers, credentials) by their types.
func compareOptions(t *testing.T, got, want dynamodb.Options) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		f := g.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		gv, wv := g.Field(i), w.Field(i)
		switch f.Type.Kind() {
		case reflect.Interface, reflect.Func:
			if typeName(gv) != typeName(wv) {
				t.Errorf("option %s: got a %s, want a %s", f.Name, typeName(gv), typeName(wv))
			}
		case reflect.Slice:
			if gv.Len() != wv.Len() {
				t.Errorf("option %s: got %d, want %d", f.Name, gv.Len(), wv.Len())
			}
		default:
			if !reflect.DeepEqual(gv.Interface(), wv.Interface()) {
				t.Errorf("option %s: got %s, want %s", f.Name, show(gv), show(wv))
			}
		}
	}
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		return fmt.Sprintf("&%#v", v.Elem().Interface())
	}
	return fmt.Sprintf("%#v", v.Interface())
}

func typeName(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	if v.Kind() == reflect.Interface {
		return v.Elem().Type().String()
	}
	return v.Type().String()
}

func TestRefuses(t *testing.T) {
	for _, k := range refused {
		t.Run(k, func(t *testing.T) {
			clearEnv(t, with(lambdaEnv, k, "1"))
			if _, err := Config(); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("Config() with %s set: %v, want an error naming it", k, err)
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		clearEnv(t, with(lambdaEnv, "AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "", "AWS_SESSION_TOKEN", ""))
		if _, err := Config(); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
			t.Errorf("Config() without credentials: %v, want an error", err)
		}
	})
	t.Run("half the credentials", func(t *testing.T) {
		clearEnv(t, with(lambdaEnv, "AWS_SECRET_ACCESS_KEY", ""))
		if _, err := Config(); err == nil {
			t.Error("Config() without a secret key succeeded")
		}
	})
}

// TestFunctionsDoNotLinkConfig keeps the point of this package: one import of package config
// anywhere under a function (a store, a registry, a test-support package) links its credential
// chain into every bootstrap again.
func TestFunctionsDoNotLinkConfig(t *testing.T) {
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "codex/functions/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const config = "github.com/aws/aws-sdk-go-v2/config"
	var importers []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 1 && slices.Contains(f[1:], config) {
			importers = append(importers, f[0])
		}
	}
	if len(importers) > 0 {
		t.Errorf("%s imported by %s: use awsenv.Config in what the functions link", config, strings.Join(importers, ", "))
	}
}
