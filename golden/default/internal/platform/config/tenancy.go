package config

import "strings"

// Tenancy configures how a request's tenant is resolved (see package tenancy).
type Tenancy struct {
	Resolution TenantResolution `env:"RESOLUTION" envDefault:"header" desc:"Where the tenant of a request comes from: header (the tenant's slug in TENANT_HEADER) or subdomain (the first label left of TENANT_BASE_DOMAIN)."`
	Header     string           `env:"HEADER" envDefault:"X-Tenant-ID" desc:"Request header carrying the tenant's slug when TENANT_RESOLUTION=header."`
	BaseDomain string           `env:"BASE_DOMAIN" envDefault:"" desc:"Domain under which each tenant has a subdomain (acme.example.com for base domain example.com); required when TENANT_RESOLUTION=subdomain."`
}

// TenantResolution names a way of finding a request's tenant.
type TenantResolution string

// Tenant resolution strategies.
const (
	TenantFromHeader    TenantResolution = "header"
	TenantFromSubdomain TenantResolution = "subdomain"
)

// Accepted implements Accepter.
func (TenantResolution) Accepted() string { return "header or subdomain" }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *TenantResolution) UnmarshalText(text []byte) error {
	switch v := TenantResolution(text); v {
	case TenantFromHeader, TenantFromSubdomain:
		*r = v
		return nil
	default:
		return acceptedError{value: string(text), accepted: r.Accepted()}
	}
}

// problems reports the settings of t that are invalid together.
func (t Tenancy) problems(values map[string]string) []Problem {
	var problems []Problem
	add := func(name, reason, accepted string) {
		v, set := values[name]
		problems = append(problems, Problem{Name: name, Value: v, Set: set, Reason: reason, Accepted: accepted})
	}
	if t.Resolution == TenantFromHeader && t.Header == "" {
		add("TENANT_HEADER", "must not be empty when TENANT_RESOLUTION=header", "an HTTP header name such as X-Tenant-ID")
	}
	if t.Resolution == TenantFromSubdomain {
		switch {
		case t.BaseDomain == "":
			add("TENANT_BASE_DOMAIN", "is required when TENANT_RESOLUTION=subdomain", "a domain name such as example.com")
		case !isDomainName(t.BaseDomain):
			add("TENANT_BASE_DOMAIN", "must be a bare domain name: no scheme, port or path", "a domain name such as example.com")
		}
	}
	return problems
}

// isDomainName reports whether s is dot-separated labels of letters, digits
// and hyphens: what a Host header can end with, so that a value such as
// "https://example.com" or "example.com:8443", which no request could ever
// match, is refused at start rather than answering every request with 400.
func isDomainName(s string) bool {
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if ldh := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'; !ldh {
				return false
			}
		}
	}
	return true
}

// queryBudgetProblems reports an unusable QUERY_BUDGET.
func queryBudgetProblems(budget int, values map[string]string) []Problem {
	if budget >= 1 {
		return nil
	}
	v, set := values["QUERY_BUDGET"]
	return []Problem{{Name: "QUERY_BUDGET", Value: v, Set: set, Reason: "must be at least 1", Accepted: "a positive integer"}}
}
