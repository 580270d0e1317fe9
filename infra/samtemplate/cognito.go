package samtemplate

import "go.yaml.in/yaml/v3"

// UserPool is the part of an AWS::Cognito::UserPool the local stack needs to create an
// equivalent pool.
type UserPool struct {
	LogicalID                string
	Name                     Value // UserPoolName, typically !Sub codex-${Stage}-users
	PasswordPolicy           *PasswordPolicy
	AutoVerifiedAttributes   []string
	UsernameAttributes       []string
	AllowAdminCreateUserOnly bool
}

// PasswordPolicy is Policies.PasswordPolicy.
type PasswordPolicy struct {
	MinimumLength                 int
	RequireLowercase              bool
	RequireUppercase              bool
	RequireNumbers                bool
	RequireSymbols                bool
	TemporaryPasswordValidityDays int
}

// UserPoolClient is the part of an AWS::Cognito::UserPoolClient the local stack needs.
type UserPoolClient struct {
	LogicalID string
	Name      Value
	// UserPool is the logical id UserPoolId refers to (!Ref); "" if it is not a Ref.
	UserPool                   string
	ExplicitAuthFlows          []string
	ReadAttributes             []string // nil: every readable attribute, as Cognito defaults
	GenerateSecret             bool
	PreventUserExistenceErrors string
	// Token validities in TokenValidityUnits (Cognito's defaults apply when 0).
	AccessTokenValidity  int
	IDTokenValidity      int
	RefreshTokenValidity int
	TokenValidityUnits   TokenValidityUnits
}

// TokenValidityUnits are "seconds", "minutes", "hours" or "days"; "" leaves Cognito's default.
type TokenValidityUnits struct {
	AccessToken  string
	IDToken      string
	RefreshToken string
}

type rawUserPool struct {
	UserPoolName          Value `yaml:"UserPoolName"`
	AdminCreateUserConfig struct {
		AllowAdminCreateUserOnly flag `yaml:"AllowAdminCreateUserOnly"`
	} `yaml:"AdminCreateUserConfig"`
	AutoVerifiedAttributes strList `yaml:"AutoVerifiedAttributes"`
	UsernameAttributes     strList `yaml:"UsernameAttributes"`
	Policies               struct {
		PasswordPolicy *struct {
			MinimumLength                 integer `yaml:"MinimumLength"`
			RequireLowercase              flag    `yaml:"RequireLowercase"`
			RequireUppercase              flag    `yaml:"RequireUppercase"`
			RequireNumbers                flag    `yaml:"RequireNumbers"`
			RequireSymbols                flag    `yaml:"RequireSymbols"`
			TemporaryPasswordValidityDays integer `yaml:"TemporaryPasswordValidityDays"`
		} `yaml:"PasswordPolicy"`
	} `yaml:"Policies"`
}

type rawUserPoolClient struct {
	UserPoolID                 Value   `yaml:"UserPoolId"`
	ClientName                 Value   `yaml:"ClientName"`
	ExplicitAuthFlows          strList `yaml:"ExplicitAuthFlows"`
	ReadAttributes             strList `yaml:"ReadAttributes"`
	GenerateSecret             flag    `yaml:"GenerateSecret"`
	PreventUserExistenceErrors str     `yaml:"PreventUserExistenceErrors"`
	AccessTokenValidity        integer `yaml:"AccessTokenValidity"`
	IDTokenValidity            integer `yaml:"IdTokenValidity"`
	RefreshTokenValidity       integer `yaml:"RefreshTokenValidity"`
	TokenValidityUnits         struct {
		AccessToken  str `yaml:"AccessToken"`
		IDToken      str `yaml:"IdToken"`
		RefreshToken str `yaml:"RefreshToken"`
	} `yaml:"TokenValidityUnits"`
}

func (t *Template) addUserPool(id string, props *yaml.Node) error {
	var p rawUserPool
	if err := decodeProps(props, &p); err != nil {
		return err
	}
	up := &UserPool{
		LogicalID:                id,
		Name:                     p.UserPoolName,
		AutoVerifiedAttributes:   p.AutoVerifiedAttributes,
		UsernameAttributes:       p.UsernameAttributes,
		AllowAdminCreateUserOnly: bool(p.AdminCreateUserConfig.AllowAdminCreateUserOnly),
	}
	if pp := p.Policies.PasswordPolicy; pp != nil {
		up.PasswordPolicy = &PasswordPolicy{
			MinimumLength:                 int(pp.MinimumLength),
			RequireLowercase:              bool(pp.RequireLowercase),
			RequireUppercase:              bool(pp.RequireUppercase),
			RequireNumbers:                bool(pp.RequireNumbers),
			RequireSymbols:                bool(pp.RequireSymbols),
			TemporaryPasswordValidityDays: int(pp.TemporaryPasswordValidityDays),
		}
	}
	t.UserPools[id] = up
	return nil
}

func (t *Template) addUserPoolClient(id string, props *yaml.Node) error {
	var p rawUserPoolClient
	if err := decodeProps(props, &p); err != nil {
		return err
	}
	c := &UserPoolClient{
		LogicalID:                  id,
		Name:                       p.ClientName,
		ExplicitAuthFlows:          p.ExplicitAuthFlows,
		ReadAttributes:             p.ReadAttributes,
		GenerateSecret:             bool(p.GenerateSecret),
		PreventUserExistenceErrors: string(p.PreventUserExistenceErrors),
		AccessTokenValidity:        int(p.AccessTokenValidity),
		IDTokenValidity:            int(p.IDTokenValidity),
		RefreshTokenValidity:       int(p.RefreshTokenValidity),
		TokenValidityUnits: TokenValidityUnits{
			AccessToken:  string(p.TokenValidityUnits.AccessToken),
			IDToken:      string(p.TokenValidityUnits.IDToken),
			RefreshToken: string(p.TokenValidityUnits.RefreshToken),
		},
	}
	if p.UserPoolID.Fn == FnRef {
		c.UserPool = p.UserPoolID.Target
	} else {
		t.problem(id, "UserPoolId %q is not a !Ref to an AWS::Cognito::UserPool", p.UserPoolID.String())
	}
	t.UserPoolClients[id] = c
	return nil
}
