package experiment

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
)

// Rule is one condition of an experiment's eligibility on a customer attribute (see
// customer attributes). A customer is eligible when every rule holds; a customer without
// the attribute is not. The rules are data, never code: equals, in a list, or in a numeric
// range.
type Rule struct {
	Attribute string
	Op        string   // "eq", "neq", "in", "not_in", "range"
	Value     string   // eq, neq
	Values    []string // in, not_in
	Min, Max  *float64 // range (inclusive); either may be absent
}

// The rule operators.
const (
	OpEq    = "eq"
	OpNeq   = "neq"
	OpIn    = "in"
	OpNotIn = "not_in"
	OpRange = "range"
)

// NotEligible is the Reason of a customer the eligibility rules keep out.
const NotEligible = "not_eligible"

var attributePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// validateRules reports every problem of a rule list under the field "eligibility".
func validateRules(rules []Rule, p *Problems) {
	if len(rules) > 20 {
		p.Field("eligibility", "at most 20 rules")
	}
	for i, r := range rules {
		f := fmt.Sprintf("eligibility[%d]", i)
		if !attributePattern.MatchString(r.Attribute) {
			p.Field(f+".attribute", "must be 1-63 lower-case letters, digits or underscores, starting with a letter")
		}
		// Whatever the op, the values are stored with the rule: text by the one rule, at
		// most as long as an attribute value (a longer one could never match).
		if msg := CheckText(r.Value, maxAttributeValue); !msg.IsZero() {
			p.Field(f+".value", "%s", msg)
		}
		for j, v := range r.Values {
			if msg := CheckText(v, maxAttributeValue); !msg.IsZero() {
				p.Field(fmt.Sprintf("%s.values[%d]", f, j), "%s", msg)
			}
		}
		switch r.Op {
		case OpEq, OpNeq:
			if r.Value == "" {
				p.Field(f+".value", "is required for %s", r.Op)
			}
			if len(r.Values) > 0 || r.Min != nil || r.Max != nil {
				p.Field(f, "%s takes only value", r.Op)
			}
		case OpIn, OpNotIn:
			if len(r.Values) == 0 || len(r.Values) > 1000 {
				p.Field(f+".values", "1 to 1000 values are required for %s", r.Op)
			}
			if r.Value != "" || r.Min != nil || r.Max != nil {
				p.Field(f, "%s takes only values", r.Op)
			}
		case OpRange:
			if r.Min == nil && r.Max == nil {
				p.Field(f, "range needs min, max or both")
			}
			if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
				p.Field(f+".max", "must be >= min")
			}
			if r.Value != "" || len(r.Values) > 0 {
				p.Field(f, "range takes only min and max")
			}
		default:
			p.Field(f+".op", "must be eq, neq, in, not_in or range")
		}
	}
}

// Eligible reports whether a customer with these attributes passes every rule.
func Eligible(rules []Rule, attributes map[string]string) bool {
	for _, r := range rules {
		v, ok := attributes[r.Attribute]
		if !ok || !r.holds(v) {
			return false
		}
	}
	return true
}

func (r Rule) holds(v string) bool {
	switch r.Op {
	case OpEq:
		return v == r.Value
	case OpNeq:
		return v != r.Value
	case OpIn, OpNotIn:
		in := false
		for _, x := range r.Values {
			in = in || x == v
		}
		return in == (r.Op == OpIn)
	case OpRange:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		return (r.Min == nil || x >= *r.Min) && (r.Max == nil || x <= *r.Max)
	}
	return false
}

// AttributeReader reads stored customer attributes; the PostgreSQL store implements it.
type AttributeReader interface {
	// CustomerAttributes returns, per customer, the named attributes it has.
	CustomerAttributes(ctx context.Context, customerIDs, names []string) (map[string]map[string]string, error)
}

// ruleAttributes lists the attributes the rules read.
func ruleAttributes(rules []Rule) []string {
	seen := map[string]bool{}
	var names []string
	for _, r := range rules {
		if !seen[r.Attribute] {
			seen[r.Attribute] = true
			names = append(names, r.Attribute)
		}
	}
	return names
}
