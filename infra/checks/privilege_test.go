package checks

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestNoPrivilegeAroundThePolicies closes the ways around TestLeastPrivilege, which reads each
// function's Policies: a function given an existing Role (SAM then attaches none of its Policies,
// and the role may hold anything), IAM resources that attach more to the functions' roles, SAM
// connectors (which grant permissions of their own), and the IAM wildcard `?` in an action.
func TestNoPrivilegeAroundThePolicies(t *testing.T) {
	tpl := loadTemplate(t)
	for id, typ := range tpl.Resources {
		if strings.HasPrefix(typ, "AWS::IAM::") || typ == "AWS::Serverless::Connector" {
			t.Errorf("%s is of type %s: every permission must be an inline statement of a function's Policies", id, typ)
		}
	}
	for _, f := range tpl.Functions {
		for _, s := range f.Statements {
			for _, a := range s.Action {
				if strings.Contains(a, "?") {
					t.Errorf("%s: action %q is a wildcard", f.LogicalID, a)
				}
			}
		}
	}

	// samtemplate ignores what it does not model, such as Role: read the YAML itself.
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Globals struct {
			Function map[string]yaml.Node `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Type       string               `yaml:"Type"`
			Properties map[string]yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Globals.Function["Role"]; ok {
		t.Error("Globals.Function sets a Role: the functions' permissions would not come from their Policies")
	}
	seen := 0
	for id, r := range doc.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		seen++
		if _, ok := r.Properties["Role"]; ok {
			t.Errorf("%s sets a Role: its permissions would not come from its Policies", id)
		}
	}
	if seen != len(tpl.Functions) {
		t.Errorf("read %d functions from the YAML, samtemplate has %d", seen, len(tpl.Functions))
	}
}
