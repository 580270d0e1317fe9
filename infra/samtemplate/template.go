// Package samtemplate reads the project's AWS SAM template (template.yaml) into typed values, so
// that the template stays the single source of truth: the local stack creates its tables and user
// pool from it, and tests assert routes, authorizers and IAM policies against it.
//
// It reads only what the project uses, but reads that completely (Globals merged into functions,
// intrinsics kept typed), and it ignores everything else: unlike goformation, an unknown property
// never fails the parse. Semantic problems (an authorizer that does not exist, a Ref to a missing
// resource) do not fail Parse either; Validate reports them all at once.
package samtemplate

import (
	"fmt"
	"maps"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Resource types this package models.
const (
	TypeFunction       = "AWS::Serverless::Function"
	TypeHTTPAPI        = "AWS::Serverless::HttpApi"
	TypeTable          = "AWS::DynamoDB::Table"
	TypeUserPool       = "AWS::Cognito::UserPool"
	TypeUserPoolClient = "AWS::Cognito::UserPoolClient"
)

// ImplicitHTTPAPI is the logical id SAM gives the HTTP API it creates for HttpApi events that have
// no ApiId.
const ImplicitHTTPAPI = "ServerlessHttpApi"

// Template is a parsed SAM template. The maps are keyed by logical id; iterate them with
// slices.Sorted(maps.Keys(m)) where order matters.
type Template struct {
	Parameters      map[string]Parameter
	Functions       map[string]*Function
	HTTPAPIs        map[string]*HTTPAPI
	Tables          map[string]*Table
	UserPools       map[string]*UserPool
	UserPoolClients map[string]*UserPoolClient
	// Resources maps every resource's logical id to its Type, including types not modelled here.
	Resources map[string]string

	// problems are semantic issues noticed while parsing; Validate reports them.
	problems []problem
}

// Parameter is a template parameter; Default resolves !Ref and ${Name} of the parameter locally.
type Parameter struct {
	Type          string
	Default       string
	HasDefault    bool
	AllowedValues []string
}

type rawTemplate struct {
	Parameters map[string]struct {
		Type          str   `yaml:"Type"`
		Default       *str  `yaml:"Default"`
		AllowedValues []str `yaml:"AllowedValues"`
	} `yaml:"Parameters"`
	Globals struct {
		Function *rawFunction `yaml:"Function"`
		HTTPAPI  yaml.Node    `yaml:"HttpApi"`
	} `yaml:"Globals"`
	Resources map[string]rawResource `yaml:"Resources"`
}

type rawResource struct {
	Type       str       `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
	Metadata   struct {
		BuildMethod str `yaml:"BuildMethod"`
	} `yaml:"Metadata"`
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template. It fails only when a property it models has the wrong shape; see
// Validate for cross-resource checks.
func Parse(b []byte) (*Template, error) {
	var raw rawTemplate
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	if !raw.Globals.HTTPAPI.IsZero() {
		// Merging these would change every API's authorizers and CORS; refuse rather than
		// describe the APIs wrongly.
		return nil, fmt.Errorf("Globals.HttpApi is not supported by samtemplate; set the properties on the AWS::Serverless::HttpApi resource")
	}
	t := &Template{
		Parameters:      map[string]Parameter{},
		Functions:       map[string]*Function{},
		HTTPAPIs:        map[string]*HTTPAPI{},
		Tables:          map[string]*Table{},
		UserPools:       map[string]*UserPool{},
		UserPoolClients: map[string]*UserPoolClient{},
		Resources:       map[string]string{},
	}
	for name, p := range raw.Parameters {
		par := Parameter{Type: string(p.Type), AllowedValues: strs(p.AllowedValues)}
		if p.Default != nil {
			par.Default, par.HasDefault = string(*p.Default), true
		}
		t.Parameters[name] = par
	}
	for _, id := range slices.Sorted(maps.Keys(raw.Resources)) {
		r := raw.Resources[id]
		t.Resources[id] = string(r.Type)
		var err error
		switch r.Type {
		case TypeFunction:
			err = t.addFunction(id, r, raw.Globals.Function)
		case TypeHTTPAPI:
			err = t.addHTTPAPI(id, &r.Properties)
		case TypeTable:
			err = t.addTable(id, &r.Properties)
		case TypeUserPool:
			err = t.addUserPool(id, &r.Properties)
		case TypeUserPoolClient:
			err = t.addUserPoolClient(id, &r.Properties)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
	}
	return t, nil
}

// decodeProps decodes a resource's Properties, which may be absent.
func decodeProps(n *yaml.Node, out any) error {
	if n.IsZero() {
		return nil
	}
	return n.Decode(out)
}

// pseudoParameters are CloudFormation's AWS:: names; they always exist.
var pseudoParameters = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

// Resolve renders v as a plain string for the local stack. names supplies physical values keyed by
// logical id (for Ref and ${Name}), by "Name.Attribute" (for GetAtt and ${Name.Attribute}) or by
// pseudo parameter ("AWS::Region"); parameters not in names resolve to their Default.
func (t *Template) Resolve(v Value, names map[string]string) (string, error) {
	return v.Resolve(func(name, attr string) (string, bool) {
		key := name
		if attr != "" {
			key += "." + attr
		}
		if s, ok := names[key]; ok {
			return s, true
		}
		if p, ok := t.Parameters[name]; ok && attr == "" && p.HasDefault {
			return p.Default, true
		}
		return "", false
	})
}
