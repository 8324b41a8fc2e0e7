// Package sources reads the sources file (deploy/local/sources.yaml and its copies in
// deploy/compose and deploy/k8s): who may send events (write keys, browser origins,
// rate limits), where their events go (a Pulsar tenant and namespace), who may read
// the dashboard (read keys) and where a source's day ends (its time zone).
//
// The collector, the processor, the archiver and provisioning all read the file
// through Load, with one strictness: a file one of them accepts, every one accepts,
// and a typo in a key is refused by all, naming the source and the key.
package sources

import (
	"slices"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// Source is one sender of events: a site or a server, known by its write key.
type Source struct {
	// ID names the source in events, metrics and errors. Required.
	ID string `yaml:"id"`
	// WriteKey is what senders authenticate with at the collector; unique in the
	// file. Required.
	WriteKey string `yaml:"writeKey"`
	// ReadKey opens the processor's dashboard API for the source's tenant [none].
	ReadKey string `yaml:"readKey"`
	// Tenant and Namespace are the Pulsar namespace the source's topics live in.
	// Required; letters, digits and _=:.- (schemas.CheckNamespace).
	Tenant    string `yaml:"tenant"`
	Namespace string `yaml:"namespace"`
	// Origins are the browser origins allowed to send with the write key; "*"
	// allows any [none: only senders without an Origin header, such as servers].
	Origins []string `yaml:"origins"`
	// RateLimit bounds the events the collector accepts for the source [no limit].
	RateLimit RateLimit `yaml:"rateLimit"`
	// Timezone is where midnight ends a session, an IANA name [UTC].
	Timezone string `yaml:"timezone"`
	// Server marks a source whose events come from servers (a backend with Segment's
	// or RudderStack's server library) rather than from visitors' browsers: its
	// events' context.ip is taken as the visitor's address, and they get no browser,
	// OS or device [false].
	Server bool `yaml:"server"`
}

// RateLimit is a token bucket: a sustained rate and a burst.
type RateLimit struct {
	// EventsPerSecond is the sustained rate; 0 means no limit.
	EventsPerSecond float64 `yaml:"eventsPerSecond"`
	// Burst is the bucket's size [schemas.MaxBatchEvents, which is also its least:
	// the collector raises a smaller burst so that one full batch always fits].
	Burst int `yaml:"burst"`
}

// Namespace is one Pulsar tenant/namespace pair that sources write into.
type Namespace struct {
	Tenant, Namespace string
}

// AllowsOrigin reports whether a browser page at origin may send with this source's key.
func (s *Source) AllowsOrigin(origin string) bool {
	return slices.Contains(s.Origins, origin) || slices.Contains(s.Origins, "*")
}

// Topic returns the full name of one of the source's topics (schemas.Topic*).
func (s *Source) Topic(name string) string { return schemas.Topic(s.Tenant, s.Namespace, name) }

// Location is the source's time zone; Load has checked that it exists.
func (s *Source) Location() (*time.Location, error) {
	if s.Timezone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(s.Timezone)
}

// Sources is a checked sources file, its sources in file order.
type Sources []*Source

// ByWriteKey indexes the sources by write key (unique, as Load checks).
func (ss Sources) ByWriteKey() map[string]*Source {
	out := make(map[string]*Source, len(ss))
	for _, s := range ss {
		out[s.WriteKey] = s
	}
	return out
}

// AnyAllowsOrigin reports whether some source accepts origin; CORS preflights carry
// no write key, so they are answered for any known origin.
func (ss Sources) AnyAllowsOrigin(origin string) bool {
	return slices.ContainsFunc(ss, func(s *Source) bool { return s.AllowsOrigin(origin) })
}

// Namespaces lists the tenant/namespace pairs of the sources, in file order, each
// once: what provisioning creates and the archiver reads.
func (ss Sources) Namespaces() []Namespace {
	var out []Namespace
	for _, s := range ss {
		if ns := (Namespace{s.Tenant, s.Namespace}); !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}
