package samtemplate

import (
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"
)

// HTTPAPI is an AWS::Serverless::HttpApi: its authorizers, CORS and throttling. Routes live on the
// functions' events; see Template.Routes.
type HTTPAPI struct {
	LogicalID   string
	Authorizers map[string]*Authorizer
	// DefaultAuthorizer applies to routes that name no authorizer; "" when unset.
	DefaultAuthorizer string
	// EnableIAMAuthorizer makes the built-in "AWS_IAM" authorizer name valid.
	EnableIAMAuthorizer  bool
	CORS                 *CORS // nil when CorsConfiguration is absent or false
	DefaultRouteSettings *RouteSettings
	// RouteSettings is keyed by route key, e.g. "GET /projects".
	RouteSettings map[string]RouteSettings
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
	// Function is the logical id FunctionArn refers to (!GetAtt X.Arn, !Ref X or !Sub ${X.Arn});
	// "" when FunctionArn names no resource of this template.
	Function              string
	PayloadFormatVersion  string
	EnableSimpleResponses bool
	IdentityHeaders       []string
	// ReauthorizeEvery is the decision cache TTL in seconds. nil means unset, in which case API
	// Gateway caches for 300 s; 0 means every request is authorized afresh.
	ReauthorizeEvery *int
}

// CORS is an API's CorsConfiguration. `CorsConfiguration: true` (or an origin string) becomes
// the AllowOrigins-only configuration SAM generates for it.
type CORS struct {
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	AllowCredentials bool
	MaxAge           *int // seconds; nil when unset
}

// RouteSettings is the throttling of a stage or route; nil fields are unset.
type RouteSettings struct {
	ThrottlingBurstLimit *int
	ThrottlingRateLimit  *float64
}

type rawRouteSettings struct {
	ThrottlingBurstLimit *integer `yaml:"ThrottlingBurstLimit"`
	ThrottlingRateLimit  *number  `yaml:"ThrottlingRateLimit"`
}

func (r *rawRouteSettings) settings() *RouteSettings {
	if r == nil {
		return nil
	}
	return &RouteSettings{ThrottlingBurstLimit: intPtr(r.ThrottlingBurstLimit), ThrottlingRateLimit: floatPtr(r.ThrottlingRateLimit)}
}

type rawJWTConfig struct {
	Issuer     *Value    `yaml:"issuer"`
	IssuerUC   *Value    `yaml:"Issuer"`
	Audience   valueList `yaml:"audience"`
	AudienceUC valueList `yaml:"Audience"`
}

type rawAuthorizer struct {
	IdentitySource   str           `yaml:"IdentitySource"`
	JwtConfiguration *rawJWTConfig `yaml:"JwtConfiguration"`

	FunctionArn                    *Value `yaml:"FunctionArn"`
	AuthorizerPayloadFormatVersion str    `yaml:"AuthorizerPayloadFormatVersion"`
	EnableSimpleResponses          flag   `yaml:"EnableSimpleResponses"`
	Identity                       struct {
		Headers          strList  `yaml:"Headers"`
		ReauthorizeEvery *integer `yaml:"ReauthorizeEvery"`
	} `yaml:"Identity"`
}

type rawCORS struct {
	AllowOrigins     strList  `yaml:"AllowOrigins"`
	AllowMethods     strList  `yaml:"AllowMethods"`
	AllowHeaders     strList  `yaml:"AllowHeaders"`
	ExposeHeaders    strList  `yaml:"ExposeHeaders"`
	AllowCredentials flag     `yaml:"AllowCredentials"`
	MaxAge           *integer `yaml:"MaxAge"`
}

type rawHTTPAPI struct {
	Auth struct {
		Authorizers         map[string]rawAuthorizer `yaml:"Authorizers"`
		DefaultAuthorizer   str                      `yaml:"DefaultAuthorizer"`
		EnableIamAuthorizer flag                     `yaml:"EnableIamAuthorizer"`
	} `yaml:"Auth"`
	CorsConfiguration    yaml.Node                   `yaml:"CorsConfiguration"`
	DefaultRouteSettings *rawRouteSettings           `yaml:"DefaultRouteSettings"`
	RouteSettings        map[string]rawRouteSettings `yaml:"RouteSettings"`
}

func (t *Template) addHTTPAPI(id string, props *yaml.Node) error {
	var p rawHTTPAPI
	if err := decodeProps(props, &p); err != nil {
		return err
	}
	api := &HTTPAPI{
		LogicalID:            id,
		Authorizers:          map[string]*Authorizer{},
		DefaultAuthorizer:    string(p.Auth.DefaultAuthorizer),
		EnableIAMAuthorizer:  bool(p.Auth.EnableIamAuthorizer),
		DefaultRouteSettings: p.DefaultRouteSettings.settings(),
	}
	for _, name := range slices.Sorted(maps.Keys(p.Auth.Authorizers)) {
		ra := p.Auth.Authorizers[name]
		a := &Authorizer{Name: name}
		switch {
		case ra.JwtConfiguration != nil && ra.FunctionArn != nil:
			t.problem(id, "authorizer %s has both JwtConfiguration and FunctionArn", name)
		case ra.JwtConfiguration != nil:
			jc := ra.JwtConfiguration
			j := &JWTAuthorizer{IdentitySource: string(ra.IdentitySource), Audience: jc.Audience}
			if jc.Issuer != nil {
				j.Issuer = *jc.Issuer
			} else if jc.IssuerUC != nil {
				j.Issuer = *jc.IssuerUC
			}
			if j.Audience == nil {
				j.Audience = jc.AudienceUC
			}
			a.JWT = j
		case ra.FunctionArn != nil:
			l := &LambdaAuthorizer{
				FunctionArn:           *ra.FunctionArn,
				PayloadFormatVersion:  string(ra.AuthorizerPayloadFormatVersion),
				EnableSimpleResponses: bool(ra.EnableSimpleResponses),
				IdentityHeaders:       ra.Identity.Headers,
				ReauthorizeEvery:      intPtr(ra.Identity.ReauthorizeEvery),
			}
			switch fa := *ra.FunctionArn; fa.Fn {
			case FnGetAtt, FnRef:
				l.Function = fa.Target
			case FnSub:
				if parts, _ := parseSub(fa.Template); len(parts) == 2 && parts[0].text == "" &&
					parts[1].text == "" && parts[0].attr == "Arn" {
					l.Function = parts[0].name
				}
			}
			a.Lambda = l
		default:
			t.problem(id, "authorizer %s has neither JwtConfiguration nor FunctionArn", name)
		}
		api.Authorizers[name] = a
	}
	if len(p.RouteSettings) > 0 {
		api.RouteSettings = map[string]RouteSettings{}
		for k, rs := range p.RouteSettings {
			api.RouteSettings[k] = *rs.settings()
		}
	}
	cors, err := corsFromNode(&p.CorsConfiguration)
	if err != nil {
		return err
	}
	api.CORS = cors
	t.HTTPAPIs[id] = api
	return nil
}

func corsFromNode(n *yaml.Node) (*CORS, error) {
	if n.IsZero() || n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var on flag
		if err := n.Decode(&on); err != nil || !on {
			return nil, err
		}
		return &CORS{AllowOrigins: []string{"*"}}, nil
	}
	if n.Kind == yaml.ScalarNode {
		var origin str
		if err := n.Decode(&origin); err != nil {
			return nil, err
		}
		return &CORS{AllowOrigins: []string{string(origin)}}, nil
	}
	var rc rawCORS
	if err := n.Decode(&rc); err != nil {
		return nil, err
	}
	return &CORS{
		AllowOrigins:     rc.AllowOrigins,
		AllowMethods:     rc.AllowMethods,
		AllowHeaders:     rc.AllowHeaders,
		ExposeHeaders:    rc.ExposeHeaders,
		AllowCredentials: bool(rc.AllowCredentials),
		MaxAge:           intPtr(rc.MaxAge),
	}, nil
}
