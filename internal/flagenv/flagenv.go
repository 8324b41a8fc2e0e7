// Package flagenv registers command-line flags whose defaults can be overridden by
// environment variables: the default is the field's value, the variable (when set)
// replaces it, and the flag (when given) replaces both. A flag's variable is named
// after it (EnvName), so a setting is registered with one name.
package flagenv

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// EnvName is the environment variable of the flag name: CLICKTRAIL_ and the name in
// upper case, with '.' and '-' as '_' ("collector.max-body" is
// CLICKTRAIL_COLLECTOR_MAX_BODY).
func EnvName(name string) string {
	return "CLICKTRAIL_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(name))
}

// Set registers flags on a FlagSet and collects the errors of malformed variables.
type Set struct {
	fs   *flag.FlagSet
	errs []error
}

// New wraps fs.
func New(fs *flag.FlagSet) *Set { return &Set{fs: fs} }

// Err reports every environment variable that did not parse, naming it.
func (s *Set) Err() error { return errors.Join(s.errs...) }

func (s *Set) add(v flag.Value, name, usage string) {
	env := EnvName(name)
	if raw, ok := os.LookupEnv(env); ok && raw != "" {
		if err := v.Set(raw); err != nil {
			s.errs = append(s.errs, fmt.Errorf("invalid %s=%q: %w", env, raw, err))
		}
	}
	s.fs.Var(v, name, usage+" ($"+env+")")
}

// String registers a string flag.
func (s *Set) String(p *string, name, usage string) { s.add((*strValue)(p), name, usage) }

// Int registers an int flag.
func (s *Set) Int(p *int, name, usage string) { s.add((*intValue)(p), name, usage) }

// Int64 registers an int64 flag.
func (s *Set) Int64(p *int64, name, usage string) { s.add((*int64Value)(p), name, usage) }

// Bool registers a boolean flag.
func (s *Set) Bool(p *bool, name, usage string) { s.add((*boolValue)(p), name, usage) }

// Duration registers a duration flag ("5s", "100ms").
func (s *Set) Duration(p *time.Duration, name, usage string) {
	s.add((*durationValue)(p), name, usage)
}

// Prefixes registers a comma-separated list of networks ("10.0.0.0/8,::1/128").
func (s *Set) Prefixes(p *[]netip.Prefix, name, usage string) {
	s.add((*prefixesValue)(p), name, usage)
}

type strValue string

func (v *strValue) String() string     { return string(*v) }
func (v *strValue) Set(s string) error { *v = strValue(s); return nil }

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	*v = intValue(n)
	return err
}

type int64Value int64

func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	*v = int64Value(n)
	return err
}

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	*v = boolValue(b)
	return err
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	*v = durationValue(d)
	return err
}

type prefixesValue []netip.Prefix

func (v *prefixesValue) String() string {
	parts := make([]string, len(*v))
	for i, p := range *v {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (v *prefixesValue) Set(s string) error {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return err
		}
		out = append(out, p)
	}
	*v = out
	return nil
}
