package checks

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The managed CloudFront cache policy that caches nothing: API answers are per caller.
const cachingDisabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"

// behaviour is one cache behaviour of SiteDistribution; the default one has Pattern "*".
type behaviour struct {
	Pattern string   `yaml:"PathPattern"`
	Origin  string   `yaml:"TargetOriginId"`
	Cache   string   `yaml:"CachePolicyId"`
	Methods []string `yaml:"AllowedMethods"`
}

// rateRule is a rate-based rule of the web ACL, with the path prefixes its scope-down matches.
type rateRule struct {
	name     string
	prefixes []string // STARTS_WITH search strings
	exact    []string // EXACTLY search strings
}

// TestSiteFrontsEveryRoute: every route of template.yaml is reached through SiteDistribution on
// the origin of its own API, never cached unless it is the buy-button script, and counted by one of
// the web ACL's per-IP rules; a route added without a behaviour or a rule fails here rather than
// being served by the S3 origin (403) or escaping the per-IP limits.
func TestSiteFrontsEveryRoute(t *testing.T) {
	tpl := loadTemplate(t)
	behaviours := siteBehaviours(t)
	rules := webACLRules(t)
	origins := map[string]string{"HttpApi": "api", "PublicApi": "public"}
	for _, r := range tpl.Routes() {
		path := regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(r.Path, "x1")
		b := matchBehaviour(behaviours, path)
		switch {
		case b.Origin != origins[r.API]:
			t.Errorf("%s %s (%s) reaches origin %q through behaviour %q, want %q", r.Method, r.Path, r.API, b.Origin, b.Pattern, origins[r.API])
		case b.Cache != cachingDisabled && !(r.Method == "GET" && r.Path == "/button.js"):
			t.Errorf("%s %s: behaviour %q caches (policy %s); API answers must not be cached", r.Method, r.Path, b.Pattern, b.Cache)
		case !slices.Contains(b.Methods, r.Method):
			t.Errorf("%s %s: behaviour %q allows only %v", r.Method, r.Path, b.Pattern, b.Methods)
		}
		if rule := matchRule(rules, path); rule == "" {
			t.Errorf("%s %s: no per-IP rate rule of infra/waf/webacl.yaml counts it", r.Method, r.Path)
		}
	}
}

// TestSiteBucketPrivate: the dashboard's bucket blocks every kind of public access; CloudFront
// reads it through its origin access control, and nothing else may.
func TestSiteBucketPrivate(t *testing.T) {
	doc := loadYAML(t, "../../template.yaml")
	block := find(t, doc, "Resources", "SiteBucket", "Properties", "PublicAccessBlockConfiguration")
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if v := find(t, block, k); v.Value != "true" {
			t.Errorf("SiteBucket %s = %q, want true", k, v.Value)
		}
	}
	origins := find(t, doc, "Resources", "SiteDistribution", "Properties", "DistributionConfig", "Origins")
	for _, o := range origins.Content {
		if find(t, o, "Id").Value == "site" && lookup(o, "OriginAccessControlId") == nil {
			t.Error("the site origin has no OriginAccessControlId")
		}
	}
}

func siteBehaviours(t *testing.T) []behaviour {
	doc := loadYAML(t, "../../template.yaml")
	cfg := find(t, doc, "Resources", "SiteDistribution", "Properties", "DistributionConfig")
	var out []behaviour
	if err := find(t, cfg, "CacheBehaviors").Decode(&out); err != nil {
		t.Fatal(err)
	}
	var def behaviour
	if err := find(t, cfg, "DefaultCacheBehavior").Decode(&def); err != nil {
		t.Fatal(err)
	}
	def.Pattern = "*"
	return append(out, def)
}

func webACLRules(t *testing.T) []rateRule {
	doc := loadYAML(t, "../../infra/waf/webacl.yaml")
	var out []rateRule
	for _, r := range find(t, doc, "Resources", "SiteWebAcl", "Properties", "Rules").Content {
		rule := rateRule{name: find(t, r, "Name").Value}
		if find(t, r, "Action", "Block") == nil {
			continue
		}
		scope := find(t, r, "Statement", "RateBasedStatement", "ScopeDownStatement")
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if m := lookup(n, "ByteMatchStatement"); m != nil {
				s := find(t, m, "SearchString").Value
				switch find(t, m, "PositionalConstraint").Value {
				case "STARTS_WITH":
					rule.prefixes = append(rule.prefixes, s)
				case "EXACTLY":
					rule.exact = append(rule.exact, s)
				}
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(scope)
		out = append(out, rule)
	}
	return out
}

// matchBehaviour is CloudFront's choice: the first behaviour, in order, whose pattern matches
// (`*` any run of characters, `?` one), else the default.
func matchBehaviour(bs []behaviour, path string) behaviour {
	for _, b := range bs {
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(b.Pattern)) + "$"
		if regexp.MustCompile(re).MatchString(path) {
			return b
		}
	}
	return bs[len(bs)-1]
}

func matchRule(rules []rateRule, path string) string {
	for _, r := range rules {
		for _, p := range r.prefixes {
			if strings.HasPrefix(path, p) {
				return r.name
			}
		}
		if slices.Contains(r.exact, path) {
			return r.name
		}
	}
	return ""
}

func loadYAML(t *testing.T, path string) *yaml.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// lookup returns the value of key in mapping n, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func find(t *testing.T, n *yaml.Node, keys ...string) *yaml.Node {
	t.Helper()
	for _, k := range keys {
		if n = lookup(n, k); n == nil {
			t.Fatalf("no %s in %v", k, keys)
		}
	}
	return n
}
