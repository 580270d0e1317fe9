package samtemplate

import (
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"
)

// HTTPAPI is an AWS::Serverless::HttpApi: its authorizers, CORS and throttling. Routes live on the
// functions' events; see Template.Routes.
type HTTPAPI struct {
	LogicalID            string
	Authorizers          map[string]*Authorizer
	CORS                 *CORS          // nil when CorsConfiguration is absent
	DefaultRouteSettings *RouteSettings // nil when absent
}

// Authorizer is one entry of Auth.Authorizers; exactly one of JWT and Lambda is set for a
// well-formed template (Validate reports the others).
type Authorizer struct {
	Name   string
	JWT    *JWTAuthorizer
	Lambda *LambdaAuthorizer
}

// JWTAuthorizer validates a bearer token (here a Cognito ID token) without calling a function.
type JWTAuthorizer struct {
	IdentitySource string
	Issuer         Value
	Audience       []Value
}

// LambdaAuthorizer calls a function to allow or deny each request.
type LambdaAuthorizer struct {
	FunctionArn Value
	// Function is the logical id of `!GetAtt Function.Arn`; "" when FunctionArn is not of that form.
	Function              string
	PayloadFormatVersion  string
	EnableSimpleResponses bool
	IdentityHeaders       []string
	// ReauthorizeEvery is the decision cache TTL in seconds. nil means unset, in which case API
	// Gateway caches for 300 s; 0 means every request is authorized afresh.
	ReauthorizeEvery *int
}

// CORS is an API's CorsConfiguration.
type CORS struct {
	AllowOrigins     []string `yaml:"AllowOrigins"`
	AllowMethods     []string `yaml:"AllowMethods"`
	AllowHeaders     []string `yaml:"AllowHeaders"`
	AllowCredentials bool     `yaml:"AllowCredentials"`
	MaxAge           *int     `yaml:"MaxAge"` // seconds; nil when unset
}

// RouteSettings is the throttling of an API's routes; nil fields are unset.
type RouteSettings struct {
	ThrottlingBurstLimit *int     `yaml:"ThrottlingBurstLimit"`
	ThrottlingRateLimit  *float64 `yaml:"ThrottlingRateLimit"`
	_                    any      `yaml:"DetailedMetricsEnabled"` // changes nothing a request sees
}

type rawHTTPAPI struct {
	Auth                 rawAuth        `yaml:"Auth"`
	CorsConfiguration    *CORS          `yaml:"CorsConfiguration"`
	DefaultRouteSettings *RouteSettings `yaml:"DefaultRouteSettings"`
}

type rawAuth struct {
	Authorizers map[string]rawAuthorizer `yaml:"Authorizers"`
}

type rawAuthorizer struct {
	IdentitySource   string `yaml:"IdentitySource"`
	JwtConfiguration *struct {
		Issuer   *Value  `yaml:"issuer"`
		Audience []Value `yaml:"audience"`
	} `yaml:"JwtConfiguration"`

	FunctionArn                    *Value `yaml:"FunctionArn"`
	AuthorizerPayloadFormatVersion string `yaml:"AuthorizerPayloadFormatVersion"`
	EnableSimpleResponses          bool   `yaml:"EnableSimpleResponses"`
	// The default permissions let API Gateway invoke the function; locally nothing needs them.
	_        any `yaml:"EnableFunctionDefaultPermissions"`
	Identity struct {
		Headers          []string `yaml:"Headers"`
		ReauthorizeEvery *int     `yaml:"ReauthorizeEvery"`
	} `yaml:"Identity"`
}

func (t *Template) addHTTPAPI(id string, props *yaml.Node) error {
	var p rawHTTPAPI
	if !props.IsZero() {
		if err := strict(props, &p); err != nil {
			return err
		}
	}
	api := &HTTPAPI{LogicalID: id, Authorizers: map[string]*Authorizer{}, CORS: p.CorsConfiguration,
		DefaultRouteSettings: p.DefaultRouteSettings}
	for _, name := range slices.Sorted(maps.Keys(p.Auth.Authorizers)) {
		ra := p.Auth.Authorizers[name]
		a := &Authorizer{Name: name}
		switch {
		case ra.JwtConfiguration != nil && ra.FunctionArn != nil:
			t.problem(id, "authorizer %s has both JwtConfiguration and FunctionArn", name)
		case ra.JwtConfiguration != nil:
			a.JWT = &JWTAuthorizer{IdentitySource: ra.IdentitySource, Audience: ra.JwtConfiguration.Audience}
			if ra.JwtConfiguration.Issuer != nil {
				a.JWT.Issuer = *ra.JwtConfiguration.Issuer
			}
		case ra.FunctionArn != nil:
			a.Lambda = &LambdaAuthorizer{
				FunctionArn:           *ra.FunctionArn,
				PayloadFormatVersion:  ra.AuthorizerPayloadFormatVersion,
				EnableSimpleResponses: ra.EnableSimpleResponses,
				IdentityHeaders:       ra.Identity.Headers,
				ReauthorizeEvery:      ra.Identity.ReauthorizeEvery,
			}
			if ra.FunctionArn.Fn == FnGetAtt && ra.FunctionArn.Attribute == "Arn" {
				a.Lambda.Function = ra.FunctionArn.Target
			}
		default:
			t.problem(id, "authorizer %s has neither JwtConfiguration nor FunctionArn", name)
		}
		api.Authorizers[name] = a
	}
	t.HTTPAPIs[id] = api
	return nil
}
