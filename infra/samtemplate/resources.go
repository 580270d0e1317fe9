package samtemplate

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.yaml.in/yaml/v3"
)

// Table is an AWS::DynamoDB::Table. It exposes the schema only as a CreateTableInput so that the
// template stays the one place the schema is written down.
type Table struct {
	LogicalID string
	// TTLAttribute is TimeToLiveSpecification.AttributeName when TTL is enabled, else "". It is
	// not part of CreateTableInput: DynamoDB enables TTL with a separate UpdateTimeToLive call.
	TTLAttribute string
	// StreamViewType is StreamSpecification.StreamViewType ("NEW_IMAGE", ...); "" when the table
	// has no stream.
	StreamViewType string

	schema []byte // the CreateTable properties as JSON
}

// rawTable holds the properties CreateTable takes, under CloudFormation's names, which are the
// API's: encoding/json maps them onto CreateTableInput. Left out: TableName (the caller picks
// physical names), and what has no effect locally (SSE, point-in-time recovery, tags).
type rawTable struct {
	BillingMode            string `yaml:"BillingMode"`
	AttributeDefinitions   any    `yaml:"AttributeDefinitions"`
	KeySchema              any    `yaml:"KeySchema"`
	GlobalSecondaryIndexes any    `yaml:"GlobalSecondaryIndexes"`
	// CloudFormation's StreamSpecification has only the view type; CreateTable's also says it is
	// enabled, which the presence of the property means.
	StreamSpecification *struct {
		StreamEnabled  bool   `yaml:"-" json:"StreamEnabled"`
		StreamViewType string `yaml:"StreamViewType" json:"StreamViewType"`
	} `yaml:"StreamSpecification" json:",omitempty"`
	TimeToLiveSpecification *struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification" json:"-"`
}

func (t *Template) addTable(id string, props *yaml.Node) error {
	var p rawTable
	if err := decodeProps(props, &p); err != nil {
		return err
	}
	tb := &Table{LogicalID: id}
	if ttl := p.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
		tb.TTLAttribute = ttl.AttributeName
	}
	if st := p.StreamSpecification; st != nil {
		st.StreamEnabled = true
		tb.StreamViewType = st.StreamViewType
		if st.StreamViewType == "" {
			t.problems.add(id, "StreamSpecification has no StreamViewType")
		}
	}
	if p.KeySchema == nil {
		t.problems.add(id, "table has no KeySchema")
	}
	var err error
	if tb.schema, err = json.Marshal(p); err != nil {
		return err
	}
	if err := json.Unmarshal(tb.schema, &dynamodb.CreateTableInput{}); err != nil {
		return errAt(props, "the table's schema does not fit CreateTable: %v", err)
	}
	t.Tables[id] = tb
	return nil
}

// CreateTableInput returns a fresh input creating this table under the physical name name; each
// call allocates new slices, so callers may modify the result.
func (tb *Table) CreateTableInput(name string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{}
	_ = json.Unmarshal(tb.schema, in) // checked by addTable
	in.TableName = &name
	return in
}

// UserPool is the part of an AWS::Cognito::UserPool the local stack needs to create an
// equivalent pool.
type UserPool struct {
	LogicalID                string
	Name                     Value // UserPoolName, typically !Sub codex-${Stage}-users
	PasswordPolicy           *PasswordPolicy
	AutoVerifiedAttributes   []string
	AllowAdminCreateUserOnly bool
}

// PasswordPolicy is Policies.PasswordPolicy.
type PasswordPolicy struct {
	MinimumLength    int  `yaml:"MinimumLength"`
	RequireLowercase bool `yaml:"RequireLowercase"`
	RequireUppercase bool `yaml:"RequireUppercase"`
	RequireNumbers   bool `yaml:"RequireNumbers"`
	RequireSymbols   bool `yaml:"RequireSymbols"`
}

// UserPoolClient is the part of an AWS::Cognito::UserPoolClient the local stack needs.
type UserPoolClient struct {
	LogicalID string `yaml:"-"`
	Name      Value  `yaml:"ClientName"`
	// UserPool is the logical id UserPoolId refers to (!Ref); "" if it is not a Ref.
	UserPool                   string   `yaml:"-"`
	ExplicitAuthFlows          []string `yaml:"ExplicitAuthFlows"`
	GenerateSecret             bool     `yaml:"GenerateSecret"`
	PreventUserExistenceErrors string   `yaml:"PreventUserExistenceErrors"`
	// Token validities in TokenValidityUnits (Cognito's defaults apply when 0).
	AccessTokenValidity int                `yaml:"AccessTokenValidity"`
	IDTokenValidity     int                `yaml:"IdTokenValidity"`
	TokenValidityUnits  TokenValidityUnits `yaml:"TokenValidityUnits"`
}

// TokenValidityUnits are "seconds", "minutes", "hours" or "days"; "" leaves Cognito's default.
type TokenValidityUnits struct {
	AccessToken string `yaml:"AccessToken"`
	IDToken     string `yaml:"IdToken"`
}

func (t *Template) addUserPool(id string, props *yaml.Node) error {
	var p struct {
		UserPoolName          Value `yaml:"UserPoolName"`
		AdminCreateUserConfig struct {
			AllowAdminCreateUserOnly bool `yaml:"AllowAdminCreateUserOnly"`
		} `yaml:"AdminCreateUserConfig"`
		AutoVerifiedAttributes []string `yaml:"AutoVerifiedAttributes"`
		Policies               struct {
			PasswordPolicy *PasswordPolicy `yaml:"PasswordPolicy"`
		} `yaml:"Policies"`
	}
	if err := decodeProps(props, &p); err != nil {
		return err
	}
	t.UserPools[id] = &UserPool{LogicalID: id, Name: p.UserPoolName, PasswordPolicy: p.Policies.PasswordPolicy,
		AutoVerifiedAttributes: p.AutoVerifiedAttributes, AllowAdminCreateUserOnly: p.AdminCreateUserConfig.AllowAdminCreateUserOnly}
	return nil
}

func (t *Template) addUserPoolClient(id string, props *yaml.Node) error {
	c := &UserPoolClient{LogicalID: id}
	var pool struct {
		UserPoolID Value `yaml:"UserPoolId"`
	}
	if err := decodeProps(props, c); err != nil {
		return err
	}
	if err := decodeProps(props, &pool); err != nil {
		return err
	}
	if pool.UserPoolID.Fn == FnRef {
		c.UserPool = pool.UserPoolID.Target
	} else {
		t.problems.add(id, "UserPoolId %q is not a !Ref to an AWS::Cognito::UserPool", pool.UserPoolID.String())
	}
	t.UserPoolClients[id] = c
	return nil
}
