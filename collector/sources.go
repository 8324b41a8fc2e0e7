package collector

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clicktrail/clicktrail/schemas"
)

// Source is one sender of events: a site or a server, known by its write key.
type Source struct {
	ID        string   `yaml:"id"`
	WriteKey  string   `yaml:"writeKey"`
	ReadKey   string   `yaml:"readKey"`
	Tenant    string   `yaml:"tenant"`
	Namespace string   `yaml:"namespace"`
	Origins   []string `yaml:"origins"`
	RateLimit struct {
		EventsPerSecond float64 `yaml:"eventsPerSecond"`
		Burst           int     `yaml:"burst"`
	} `yaml:"rateLimit"`
	Timezone string `yaml:"timezone"`
	// Server marks a source whose events come from servers (a backend with Segment's
	// or RudderStack's server library) rather than from visitors' browsers: its
	// events' context.ip is taken as the visitor's address, and they get no browser,
	// OS or device (see enricher.enrich). Default false.
	Server bool `yaml:"server"`
}

// AllowsOrigin reports whether a browser page at origin may send with this source's key.
func (s *Source) AllowsOrigin(origin string) bool {
	return slices.Contains(s.Origins, origin) || slices.Contains(s.Origins, "*")
}

// Topic returns the full name of one of the source's topics.
func (s *Source) Topic(name string) string { return schemas.Topic(s.Tenant, s.Namespace, name) }

// Sources maps write keys to sources.
type Sources map[string]*Source

// LoadSources reads and checks a sources file.
func LoadSources(path string) (Sources, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sources file: %w", err)
	}
	var f struct {
		Sources []*Source `yaml:"sources"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse sources file %s: %w", path, err)
	}
	out := Sources{}
	var errs []error
	for i, s := range f.Sources {
		switch {
		case s.ID == "":
			errs = append(errs, fmt.Errorf("source %d: id is required", i))
		case s.WriteKey == "":
			errs = append(errs, fmt.Errorf("source %s: writeKey is required", s.ID))
		case out[s.WriteKey] != nil:
			errs = append(errs, fmt.Errorf("source %s: writeKey is also used by source %s", s.ID, out[s.WriteKey].ID))
		case s.RateLimit.EventsPerSecond < 0 || s.RateLimit.Burst < 0:
			errs = append(errs, fmt.Errorf("source %s: rateLimit must not be negative", s.ID))
		}
		if err := schemas.CheckNamespace(s.Tenant, s.Namespace); err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", s.ID, err))
		}
		if s.Timezone != "" {
			if _, err := time.LoadLocation(s.Timezone); err != nil {
				errs = append(errs, fmt.Errorf("source %s: timezone: %w", s.ID, err))
			}
		}
		out[s.WriteKey] = s
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no sources"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sources file %s: %w", path, err)
	}
	return out, nil
}

// AnyAllowsOrigin reports whether some source accepts origin; CORS preflights carry no
// write key, so they are answered for any known origin.
func (ss Sources) AnyAllowsOrigin(origin string) bool {
	for _, s := range ss {
		if s.AllowsOrigin(origin) {
			return true
		}
	}
	return false
}
