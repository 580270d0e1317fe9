package localaws

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/infra/internal/proc"
)

var testEnv *Env

func TestMain(m *testing.M) {
	if dir := os.Getenv(motoParentEnv); dir != "" {
		motoParent(dir)
		return
	}
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

func TestStartResetStop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, err := StartMoto(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	if !strings.HasPrefix(srv.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("endpoint %s is not loopback", srv.Endpoint())
	}

	// A client of its own: this server is not the shared one. Requests must be signed: moto
	// picks the service from the signature's credential scope and treats unsigned ones as S3.
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	names := map[string]string{}
	for id := range testEnv.Template.Tables {
		names[id] = "reset-" + id
	}
	if err := CreateTables(ctx, client, testEnv.Template, names); err != nil {
		t.Fatal(err)
	}
	if err := srv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := client.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TableNames) != 0 {
		t.Errorf("tables after Reset: %v", out.TableNames)
	}

	pgid := srv.cmd.Process.Pid
	// sitecustomize.py's directory is gone once the server answers: nothing is left behind if
	// this process is killed while the server runs.
	var patchDir string
	for _, kv := range srv.cmd.Env {
		if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
			patchDir = filepath.SplitList(v)[0]
		}
	}
	if !strings.Contains(patchDir, "codex-moto-") {
		t.Errorf("PYTHONPATH starts with %q, want the codex-moto- directory", patchDir)
	} else if _, err := os.Stat(patchDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there while the server runs (stat: %v)", patchDir, err)
	}

	if err := srv.Stop(); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still alive after Stop (kill 0: %v)", pgid, err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop() = %v", err)
	}
	if err := srv.Reset(ctx); err == nil {
		t.Error("Reset after Stop succeeded")
	}
}

// motoParentEnv makes the test binary, started again by TestMotoExitsWhenParentDies, start a moto
// server and wait to be killed, instead of running tests.
const motoParentEnv = "LOCALAWS_TEST_MOTO_PARENT"

// motoParent starts moto with the command StartMoto uses, its sitecustomize.py in patchDir, prints
// the server's pid and port, and waits to be killed. The server gets a process group of its own
// but, unlike under StartMoto, not Linux's parent-death signal: only its parent watch can end it.
func motoParent(patchDir string) {
	ports, err := proc.FreePorts(1)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	cmd, err := motoCommand(Options{Python: "python3"}, ports[0], patchDir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(cmd.Process.Pid, ports[0])
	select {}
}

// TestMotoExitsWhenParentDies kills (SIGKILL, so none of its code runs) the process that started a
// moto server and expects the server to exit by itself: the backstop where the kernel has no
// parent-death signal (macOS).
func TestMotoExitsWhenParentDies(t *testing.T) {
	t.Parallel()
	patchDir := t.TempDir()
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), motoParentEnv+"="+patchDir)
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the helper's output: %v", err)
	}
	var pid, port int
	if _, err := fmt.Sscan(line, &pid, &port); err != nil {
		t.Fatalf("helper said %q", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) }) // if the watch failed

	// Killed only once the server answers, as StartMoto returns then, and with sitecustomize.py
	// deleted, as StartMoto deletes it then.
	srv := &Server{endpoint: "http://127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(60 * time.Second) // a loaded machine; moto takes ~1.5 s when idle
	for !srv.answers(t.Context()) {
		if time.Now().After(deadline) || processGone(pid) {
			t.Fatalf("moto (pid %d) did not answer on port %d", pid, port)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.RemoveAll(patchDir); err != nil {
		t.Fatal(err)
	}

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	deadline = time.Now().Add(20 * time.Second) // the watch polls every 0.5 s
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("moto (pid %d) still running 20 s after its parent died", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMotoBehindForkingWrapper: an interpreter started through a wrapper that forks has the wrapper
// for a parent, not StartMoto's process, so the parent watch is off; the server says so and runs.
func TestMotoBehindForkingWrapper(t *testing.T) {
	t.Parallel()
	wrapper := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\npython3 \"$@\"\nexit $?\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := StartMoto(t.Context(), Options{Python: wrapper})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	if out := srv.out.tail(20); !strings.Contains(out, "not process "+strconv.Itoa(os.Getpid())+" that started it") {
		t.Errorf("no warning about the wrapper in the output:\n%s", out)
	}
	if err := srv.Reset(t.Context()); err != nil {
		t.Errorf("server behind the wrapper: %v", err)
	}
}

// processGone reports whether pid has exited: no such process, or a zombie (its new parent may be
// slow to reap it, or never do so).
func processGone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false // no /proc (macOS): alive as far as kill can tell
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && strings.HasPrefix(s[i+1:], " Z")
}

func TestMotoMissing(t *testing.T) {
	t.Parallel()
	// A package named moto without a server module, first on the path, hides the real one, as
	// on a machine with an unrelated moto or none at all.
	shadow := t.TempDir()
	if err := os.Mkdir(filepath.Join(shadow, "moto"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shadow, "moto", "__init__.py"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]Options{
		"no interpreter": {Python: filepath.Join(t.TempDir(), "python3")},
		"no module":      {Env: []string{"PYTHONPATH=" + shadow}},
	} {
		t.Run(name, func(t *testing.T) {
			srv, err := StartMoto(t.Context(), opts)
			if err == nil {
				_ = srv.Stop()
				t.Fatal("StartMoto succeeded")
			}
			if !errors.Is(err, ErrMotoNotInstalled) || !strings.Contains(err.Error(), `moto is required: pip install "moto[server]==`+MotoVersion+`"`) {
				t.Errorf("err = %v", err)
			}
			t.Log(err)
		})
	}
}

func TestMotoDiesEarly(t *testing.T) {
	t.Parallel()
	// A moto.server that fails at startup: the error must carry its output.
	fake := t.TempDir()
	if err := os.Mkdir(filepath.Join(fake, "moto"), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, src := range map[string]string{
		"__init__.py": "",
		"server.py":   "import sys\nprint('starting', flush=True)\nsys.exit('fatal: config is broken')\n",
	} {
		if err := os.WriteFile(filepath.Join(fake, "moto", file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := StartMoto(t.Context(), Options{Env: []string{"PYTHONPATH=" + fake}})
	if err == nil || errors.Is(err, ErrMotoNotInstalled) || !strings.Contains(err.Error(), "fatal: config is broken") ||
		!strings.Contains(err.Error(), "starting") {
		t.Errorf("err = %v", err)
	}
}

func TestMotoStartTimeout(t *testing.T) {
	t.Parallel()
	// A moto.server that never answers: StartMoto gives up and kills it.
	fake := t.TempDir()
	if err := os.Mkdir(filepath.Join(fake, "moto"), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, src := range map[string]string{
		"__init__.py": "",
		"server.py":   "import time\nprint('hanging', flush=True)\ntime.sleep(60)\n",
	} {
		if err := os.WriteFile(filepath.Join(fake, "moto", file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	_, err := StartMoto(t.Context(), Options{Env: []string{"PYTHONPATH=" + fake}, StartTimeout: 3 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "hanging") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("StartMoto took %s to give up", d)
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(16)
	for i := range 10 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if got := b.tail(2); got != "line 8\nline 9" {
		t.Errorf("tail = %q", got)
	}
	if len(b.buf) > 16 {
		t.Errorf("buffer grew to %d bytes", len(b.buf))
	}
}

// TestSetupUsesEndpointFromEnvironment runs sequentially (t.Setenv): Setup must use an endpoint
// the environment names instead of starting moto.
func TestSetupUsesEndpointFromEnvironment(t *testing.T) {
	ext, err := StartMoto(t.Context(), Options{}) // stands in for DynamoDB Local or LocalStack
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
