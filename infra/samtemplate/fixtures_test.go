package samtemplate

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, src string) *Template {
	t.Helper()
	tpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// base is a minimal valid template: one API with one JWT and one Lambda authorizer, a table and
// two functions.
const base = `
Globals:
  Function:
    Runtime: provided.al2023
    Environment:
      Variables:
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Jwt:
            JwtConfiguration: {issuer: https://issuer.example, audience: [client]}
          Key:
            FunctionArn: !GetAtt AuthFn.Arn
  AuthFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
  GetFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      Events:
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /things, Method: get, Auth: {Authorizer: Jwt}}
`

func TestValidateBase(t *testing.T) {
	tpl := parse(t, base)
	if err := tpl.Validate(); err != nil {
		t.Fatal(err)
	}
	if r := tpl.Routes(); len(r) != 1 || r[0].Method != "GET" || r[0].Authorizer != "Jwt" {
		t.Errorf("routes = %+v", r)
	}
}

func TestValidateProblems(t *testing.T) {
	fn := fnBlock
	cases := []struct {
		name, add, want string
	}{
		{"undefined authorizer",
			fn("PostFn", `      Events: {Post: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /things, Method: POST, Auth: {Authorizer: Cognito}}}}`),
			`PostFn: event Post: authorizer "Cognito" is not defined on Api`},
		{"ApiId to a missing resource",
			fn("PostFn", `      Events: {Post: {Type: HttpApi, Properties: {ApiId: !Ref Apii, Path: /things, Method: POST}}}`),
			`PostFn: event Post: ApiId refers to missing resource "Apii"`},
		{"ApiId to a table",
			fn("PostFn", `      Events: {Post: {Type: HttpApi, Properties: {ApiId: !Ref Table, Path: /things, Method: POST}}}`),
			`PostFn: event Post: ApiId refers to "Table", a AWS::DynamoDB::Table rather than an AWS::Serverless::HttpApi`},
		{"Lambda authorizer on a missing function", `
  Api2:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth: {Authorizers: {Key: {FunctionArn: !GetAtt AuthFunction.Arn}}}`,
			`Api2: authorizer Key: FunctionArn refers to missing function "AuthFunction"`},
		{"environment Ref to a missing resource",
			fn("PostFn", `      Environment: {Variables: {OTHER: !Ref OtherTable}}`),
			`PostFn: Environment.Variables.OTHER: !Ref OtherTable refers to missing resource "OtherTable"`},
		{"environment Sub to a missing resource",
			fn("PostFn", `      Environment: {Variables: {ARN: !Sub "${OtherTable.Arn}/index/*"}}`),
			`PostFn: Environment.Variables.ARN: !Sub ${OtherTable.Arn}/index/* refers to missing resource "OtherTable"`},
		{"policy resource to a missing resource",
			fn("PostFn", `      Policies: [{Statement: [{Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt Tabel.Arn}]}]`),
			`PostFn: policy statement 1 Resource: !GetAtt Tabel.Arn refers to missing resource "Tabel"`},
		{"no BuildMethod", `
  BareFn:
    Type: AWS::Serverless::Function
    Properties: {Handler: bootstrap}`,
			`BareFn: Metadata.BuildMethod is ""; every function must be built with BuildMethod: makefile`},
		{"duplicate route",
			fn("OtherGetFn", `      Events: {Again: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /things, Method: GET, Auth: {Authorizer: Jwt}}}}`),
			`Api: route GET /things is defined more than once: GetFn.Get (/things), OtherGetFn.Again (/things)`},
		{"duplicate route differing only in parameter names",
			fn("A", `      Events:
        One: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/things/{id}", Method: DELETE, Auth: {Authorizer: Jwt}}}
        Two: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/things/{thing_id}", Method: delete, Auth: {Authorizer: Jwt}}}`),
			`Api: route DELETE /things/{id} is defined more than once: A.One (/things/{id}), A.Two (/things/{thing_id})`},
		{"ApiId not a Ref",
			fn("PostFn", `      Events: {Post: {Type: HttpApi, Properties: {ApiId: abc123, Path: /p, Method: POST}}}`),
			`PostFn: event Post: ApiId abc123 is not a !Ref to an AWS::Serverless::HttpApi`},
		{"Path without Method",
			fn("PostFn", `      Events: {Post: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /p}}}`),
			`PostFn: event Post: Path and Method must be set together`},
		{"client of a missing pool", `
  Client:
    Type: AWS::Cognito::UserPoolClient
    Properties: {UserPoolId: !Ref Pool}`,
			`Client: UserPoolId refers to "Pool", which is not an AWS::Cognito::UserPool of this template`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := parse(t, base+c.add).Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", c.want)
			}
			if lines := strings.Split(err.Error(), "\n"); !slices.Contains(lines, c.want) {
				t.Errorf("Validate() =\n%v\nwant a line\n%s", err, c.want)
			}
		})
	}

	t.Run("all at once", func(t *testing.T) {
		src := base + fnBlock("X1", `      Events: {P: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /x, Method: POST, Auth: {Authorizer: Nope}}}}`) +
			fnBlock("X2", `      Events: {P: {Type: HttpApi, Properties: {ApiId: !Ref Gone, Path: /y, Method: POST}}}`) +
			fnBlock("X3", `      Environment: {Variables: {T: !Ref Gone}}`) + `
  X4:
    Type: AWS::Serverless::Function
  Api2:
    Type: AWS::Serverless::HttpApi
    Properties: {Auth: {Authorizers: {K: {FunctionArn: !GetAtt Gone.Arn}}}}
`
		err := parse(t, src).Validate()
		if err == nil {
			t.Fatal("Validate() = nil")
		}
		lines := strings.Split(err.Error(), "\n")
		var resources []string
		for _, l := range lines {
			resources = append(resources, strings.SplitN(l, ":", 2)[0])
		}
		if want := []string{"Api2", "X1", "X2", "X3", "X4"}; !slices.Equal(resources, want) {
			t.Errorf("problems name %v, want %v:\n%v", resources, want, err)
		}
	})
}

func fnBlock(name, props string) string {
	return "\n  " + name + ":\n    Type: AWS::Serverless::Function\n    Metadata: {BuildMethod: makefile}\n    Properties:\n" + props
}

// TestLongFormIntrinsics: a template in JSON, or YAML written with the long forms, reads as the
// short forms do.
func TestLongFormIntrinsics(t *testing.T) {
	tpl := parse(t, `{
  "Parameters": {"Stage": {"Type": "String", "Default": "qa"}},
  "Resources": {
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}},
    "Fn": {
      "Type": "AWS::Serverless::Function",
      "Metadata": {"BuildMethod": "makefile"},
      "Properties": {
        "Environment": {"Variables": {
          "REF": {"Ref": "Table"},
          "ATT": {"Fn::GetAtt": "Table.StreamArn"},
          "SUB": {"Fn::Sub": "${Table}-${Stage}-${AWS::Region}"},
          "PLAIN": "x"
        }},
        "Policies": [{"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": "Table.Arn"}}]}]
      }
    }
  }
}`)
	if err := tpl.Validate(); err != nil {
		t.Fatal(err)
	}
	env := tpl.Functions["Fn"].Environment
	want := map[string]Value{
		"REF":   {Fn: FnRef, Target: "Table"},
		"ATT":   {Fn: FnGetAtt, Target: "Table", Attribute: "StreamArn"},
		"SUB":   {Fn: FnSub, Template: "${Table}-${Stage}-${AWS::Region}"},
		"PLAIN": {Literal: "x"},
	}
	for k, w := range want {
		if env[k] != w {
			t.Errorf("%s = %#v, want %#v", k, env[k], w)
		}
	}

	names := map[string]string{"Table": "local-table", "AWS::Region": "us-east-1"}
	for k, w := range map[string]string{"REF": "local-table", "SUB": "local-table-qa-us-east-1", "PLAIN": "x"} {
		if got, err := tpl.Resolve(env[k], names); err != nil || got != w {
			t.Errorf("Resolve(%s) = %q, %v; want %q", k, got, err, w)
		}
	}
	if _, err := tpl.Resolve(env["ATT"], names); err == nil || !strings.Contains(err.Error(), "Table.StreamArn") {
		t.Errorf("Resolve of an unknown attribute: %v", err)
	}
	st := tpl.Functions["Fn"].Statements
	if len(st) != 1 || !slices.Equal(st[0].Action, []string{"dynamodb:GetItem"}) || !st[0].Resource[0].IsGetAtt("Table", "Arn") {
		t.Errorf("statements = %+v", st)
	}
}

func TestGlobalsMerge(t *testing.T) {
	tpl := parse(t, `
Globals:
  Function:
    Runtime: provided.al2023
    Architectures: [arm64]
    MemorySize: 256
    Timeout: 10
    LoggingConfig: {LogFormat: JSON}
    Environment: {Variables: {A: global-a, B: global-b}}
Resources:
  Plain:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
  Custom:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      Runtime: provided.al2
      Architectures: [x86_64]
      MemorySize: 1024
      LoggingConfig: {LogFormat: Text}
      Environment: {Variables: {B: fn-b, C: fn-c}}
`)
	p, c := tpl.Functions["Plain"], tpl.Functions["Custom"]
	if p.Runtime != "provided.al2023" || p.MemorySize != 256 || p.Timeout != 10 || p.LogFormat != "JSON" ||
		!slices.Equal(p.Architectures, []string{"arm64"}) || p.Environment["B"].Literal != "global-b" {
		t.Errorf("Plain = %+v", p)
	}
	if c.Runtime != "provided.al2" || c.MemorySize != 1024 || c.Timeout != 10 || c.LogFormat != "Text" ||
		!slices.Equal(c.Architectures, []string{"x86_64"}) {
		t.Errorf("Custom scalars = %+v", c)
	}
	env := map[string]string{}
	for k, v := range c.Environment {
		env[k] = v.Literal
	}
	if len(env) != 3 || env["A"] != "global-a" || env["B"] != "fn-b" || env["C"] != "fn-c" {
		t.Errorf("Custom environment = %v", env)
	}
	// Merging must not leak one function's variables into the globals or other functions.
	if _, ok := p.Environment["C"]; ok || len(p.Environment) != 2 {
		t.Errorf("Plain leaked Custom's settings: %v", p.Environment)
	}
}

func TestLenientAndStrictParsing(t *testing.T) {
	// Unknown properties, resource types, and intrinsics in properties this package ignores
	// must not fail the parse.
	tpl := parse(t, `
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Join ["-", [a, b]]}
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile, BuildArchitecture: arm64}
    Properties:
      Description: !If [Cond, a, b]
      SnapStart: {ApplyOn: None}
      FutureProperty: {Nested: [1, 2]}
      Environment: {Variables: {BUCKET: !Ref Bucket}}
`)
	if tpl.Resources["Bucket"] != "AWS::S3::Bucket" {
		t.Errorf("Resources = %v", tpl.Resources)
	}
	if err := tpl.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}

	// An intrinsic this package cannot evaluate, in a property it models, is an error rather
	// than a wrong value.
	for _, src := range []string{
		"Resources: {Fn: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {X: !Join ['', [a]]}}}}}",
		"Resources: {Fn: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {X: {'Fn::Join': ['', [a]]}}}}}}",
		"Resources: {Fn: {Type: AWS::Serverless::Function, Properties: {Runtime: !Ref Param}}}",
		"Resources: {Fn: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {X: !Sub 'a-${'}}}}}}",
		"Resources: {Fn: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {X: !GetAtt NoDot}}}}}",
		"Resources: {Fn: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {X: !Sub ['${A}', {A: b}]}}}}}",
		"Resources: {Fn: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {X: !GetAtt [T, Arn]}}}}}",
		"Globals: {HttpApi: {Auth: {DefaultAuthorizer: X}}}\nResources: {}",
	} {
		if _, err := Parse([]byte(src)); err == nil {
			t.Errorf("Parse(%s) succeeded", src)
		}
	}
}

// TestUnemulatedPropertiesRefused: what the local stack would silently not do fails the parse,
// naming the property and its line.
func TestUnemulatedPropertiesRefused(t *testing.T) {
	api := func(props string) string {
		return "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      " + props + "\n"
	}
	fn := func(props string) string {
		return "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      " + props + "\n"
	}
	for src, want := range map[string]string{
		api("Auth: {DefaultAuthorizer: Key}"):                                                                                      "line 5: DefaultAuthorizer is not emulated",
		api("Auth: {EnableIamAuthorizer: true}"):                                                                                   "EnableIamAuthorizer is not emulated",
		api("RouteSettings: {'GET /a': {ThrottlingBurstLimit: 1}}"):                                                                "RouteSettings is not emulated",
		api("CorsConfiguration: {AllowOrigins: ['*'], ExposeHeaders: [x]}"):                                                        "ExposeHeaders is not emulated",
		api("Auth: {Authorizers: {K: {FunctionArn: !GetAtt F.Arn, Identity: {QueryStrings: [k]}}}}"):                               "QueryStrings is not emulated",
		api("Auth: {Authorizers: {J: {JwtConfiguration: {issuer: x, Audience: [y]}}}}"):                                            "Audience is not emulated",
		fn("Events: {E: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /a, Method: GET, RouteSettings: {}}}}"):                "RouteSettings is not emulated",
		fn("Events: {E: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /a, Method: GET, Auth: {AuthorizationScopes: [s]}}}}"): "AuthorizationScopes is not emulated",
		fn("Policies: [{Statement: [{Effect: Allow, NotAction: 'dynamodb:*', Resource: '*'}]}]"):                                   "NotAction is not emulated",
		fn("Policies: [{Statement: [{Effect: Allow, Action: 'dynamodb:GetItem', Resource: '*', Condition: {}}]}]"):                 "Condition is not emulated",
		fn("Policies: [{DynamoDBCrudPolicy: {TableName: !Ref T}}]"):                                                                "DynamoDBCrudPolicy is not emulated",
		fn("Policies: [AWSLambdaBasicExecutionRole]"):                                                                              "only inline policies",
	} {
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want %q", src, err, want)
		}
	}
}

func TestHTTPAPIDetails(t *testing.T) {
	tpl := parse(t, `
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Key:
            FunctionArn: !GetAtt AuthFn.Arn
            EnableFunctionDefaultPermissions: true
            AuthorizerPayloadFormatVersion: 2.0
            Identity: {Headers: [Authorization]}
      CorsConfiguration:
        AllowOrigins: [https://dash.example]
        AllowMethods: [GET, POST]
        AllowHeaders: [authorization, content-type]
        AllowCredentials: true
        MaxAge: 600
      DefaultRouteSettings: {ThrottlingBurstLimit: 20, ThrottlingRateLimit: 10.5, DetailedMetricsEnabled: true}
  AuthFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /a, Method: get, Auth: {Authorizer: Key}}}
        Queue: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
  Q:
    Type: AWS::SQS::Queue
`)
	if err := tpl.Validate(); err != nil {
		t.Fatal(err)
	}
	api := tpl.HTTPAPIs["Api"]
	l := api.Authorizers["Key"].Lambda
	if l.Function != "AuthFn" || l.PayloadFormatVersion != "2.0" || l.ReauthorizeEvery != nil || l.EnableSimpleResponses ||
		!slices.Equal(l.IdentityHeaders, []string{"Authorization"}) {
		t.Errorf("Key = %+v (ReauthorizeEvery unset must be nil)", l)
	}
	c := api.CORS
	if c == nil || !slices.Equal(c.AllowOrigins, []string{"https://dash.example"}) || !slices.Equal(c.AllowMethods, []string{"GET", "POST"}) ||
		len(c.AllowHeaders) != 2 || !c.AllowCredentials || c.MaxAge == nil || *c.MaxAge != 600 {
		t.Errorf("CORS = %+v", c)
	}
	if d := api.DefaultRouteSettings; d == nil || *d.ThrottlingBurstLimit != 20 || *d.ThrottlingRateLimit != 10.5 {
		t.Errorf("DefaultRouteSettings = %+v", d)
	}
	if r := tpl.Routes(); len(r) != 1 || r[0] != (Route{"Fn", "Get", "Api", "GET", "/a", "Key"}) {
		t.Errorf("routes = %+v; the SQS event is not a route", r)
	}
}

// TestScheduleEvents: rate expressions are read as periods; what the local stack would run at the
// wrong times (cron) or not at all (a malformed rate, an unknown property) fails the parse.
func TestScheduleEvents(t *testing.T) {
	fn := func(events string) string {
		return "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events: " + events + "\n"
	}
	tpl, err := Parse([]byte(fn("{A: {Type: Schedule, Properties: {Schedule: rate(1 minute), Description: d}}, " +
		"B: {Type: Schedule, Properties: {Schedule: rate(12 hours), Enabled: false}}, " +
		"C: {Type: Schedule, Properties: {Schedule: rate(2 days), Enabled: true}}}")))
	if err != nil {
		t.Fatal(err)
	}
	want := []ScheduleEvent{
		{Name: "A", Expression: "rate(1 minute)", Every: time.Minute, Enabled: true},
		{Name: "B", Expression: "rate(12 hours)", Every: 12 * time.Hour, Enabled: false},
		{Name: "C", Expression: "rate(2 days)", Every: 48 * time.Hour, Enabled: true},
	}
	if got := tpl.Functions["Fn"].Schedules; !reflect.DeepEqual(got, want) {
		t.Errorf("Schedules = %+v, want %+v", got, want)
	}
	if got := tpl.Schedules(); len(got) != 2 || got[0].Event != "A" || got[1].Event != "C" || got[0].Function != "Fn" {
		t.Errorf("Template.Schedules() = %+v, want A and C of Fn (B is disabled)", got)
	}

	for expr, want := range map[string]string{
		"'cron(0 12 * * ? *)'": "cron expressions are not emulated",
		"rate(5 minute)":       "singular for 1 and plural otherwise",
		"rate(1 minutes)":      "singular for 1 and plural otherwise",
		"rate(0 minutes)":      "is not a rate expression",
		"rate(1 second)":       "is not a rate expression",
		"'rate(1  minute)'":    "is not a rate expression",
		"''":                   "is not a rate expression",
	} {
		src := fn("{A: {Type: Schedule, Properties: {Schedule: " + expr + "}}}")
		if _, err := Parse([]byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("schedule %s: Parse = %v, want %q", expr, err, want)
		}
	}
	src := fn("{A: {Type: Schedule, Properties: {Schedule: rate(1 minute), Input: '{}'}}}")
	if _, err := Parse([]byte(src)); err == nil || !strings.Contains(err.Error(), "Input is not emulated") {
		t.Errorf("Parse with Input = %v, want it refused", err)
	}
}
