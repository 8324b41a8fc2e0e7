// Package protocoltest builds the events and clocks that the processor's tests
// feed the protocol with.
package protocoltest

import (
	"fmt"
	"strings"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// T0 is the tests' reference time.
var T0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// Ev is a page (or another type's) event of tenant acme's visitor anon-1.
type Ev struct {
	At       time.Duration // after T0
	ID       string
	Typ      string
	Path     string
	Referrer string
	UTM      string // utm_source
	UserID   string
}

// Event returns the event.
func (v Ev) Event() *schemas.Event {
	typ := v.Typ
	if typ == "" {
		typ = schemas.TypePage
	}
	e := &schemas.Event{Type: typ, AnonymousID: "anon-1", UserID: v.UserID, MessageID: v.ID, Timestamp: schemas.NewTime(T0.Add(v.At)), Event: "Clicked", Tenant: "acme"}
	e.Ctx.Page = schemas.Page{URL: "https://shop.example" + v.Path, Path: v.Path, Referrer: v.Referrer}
	e.Ctx.Campaign.Source = v.UTM
	return e
}

// Hostile is event i of key: a page with values of n bytes in every dimension, all
// distinct, arriving from another site (so each starts a session), 20 ms apart.
func Hostile(key string, i, n int, base time.Time) *schemas.Event {
	long := func(what string) string {
		p := fmt.Sprintf("%s-%d-", what, i)
		return p + strings.Repeat("<", n-len(p)) // escaped in JSON: 6 bytes each
	}
	e := &schemas.Event{Type: schemas.TypePage, AnonymousID: key, MessageID: fmt.Sprint(key, "-", i), Tenant: "acme",
		Timestamp:  schemas.NewTime(base.Add(time.Duration(i) * 20 * time.Millisecond)),
		Enrichment: &schemas.Enrichment{Browser: long("browser"), OS: long("os"), DeviceType: long("device")}}
	e.Ctx.Page = schemas.Page{Path: "/" + long("path"), URL: "https://shop.example/" + long("url"), Referrer: "https://" + long("ref") + ".example/"}
	e.Ctx.Campaign = schemas.Campaign{Source: long("utm"), Medium: long("medium"), Name: long("campaign")}
	return e
}
