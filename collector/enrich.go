package collector

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/clicktrail/clicktrail/schemas"
)

// requestInfo is what enrichment takes from the HTTP request.
type requestInfo struct {
	receivedAt time.Time
	clientIP   netip.Addr
	userAgent  string
	source     *Source
	sentAt     *schemas.Time // the batch's sentAt, for events without their own

	ipText string // clientIP as stored, once computed
	ipDone bool
}

// ip returns the client address as stored: anonymized unless keepFullIP, "" when
// unknown. It is computed once per request, not once per event.
func (r *requestInfo) ip(keepFullIP bool) string {
	if !r.ipDone {
		r.ipDone = true
		if ip := r.clientIP; ip.IsValid() {
			if !keepFullIP {
				ip = anonymizeIP(ip)
			}
			r.ipText = ip.String()
		}
	}
	return r.ipText
}

// enricher sets the collector-owned fields of events; one serves every request.
type enricher struct {
	keepFullIP bool
	agents     *userAgents
}

func newEnricher(keepFullIP bool) *enricher {
	return &enricher{keepFullIP: keepFullIP, agents: newUserAgents(uaCacheSize)}
}

// enrich sets the collector-owned fields of e: receivedAt, the corrected timestamp (the
// client's kept as originalTimestamp), a generated messageId when there is none, the
// client IP (anonymized unless keepFullIP), the parsed user agent and bot flag, the
// campaign from the page URL when the context has none, and tenant and source.
func (en *enricher) enrich(e *schemas.Event, r *requestInfo) {
	e.ReceivedAt = schemas.NewTime(r.receivedAt)
	if e.OriginalTimestamp == nil {
		e.OriginalTimestamp = e.Timestamp
	}
	sentAt := e.SentAt
	if sentAt == nil {
		sentAt = r.sentAt
	}
	e.Timestamp = schemas.NewTime(schemas.CorrectTimestamp(e.OriginalTimestamp, sentAt, r.receivedAt))
	e.MessageIDGenerated = false
	if e.MessageID == "" {
		e.MessageID = uuid.NewString()
		e.MessageIDGenerated = true
	}
	e.Tenant, e.Source = r.source.Tenant, r.source.ID

	ua := e.Ctx.UserAgent
	if ua == "" {
		ua = r.userAgent
	}
	x := &schemas.Enrichment{IP: r.ip(en.keepFullIP)}
	if ua != "" {
		p := en.agents.parse(ua)
		x.Browser, x.BrowserVersion = p.Browser, p.BrowserVersion
		x.OS, x.OSVersion = p.OS, p.OSVersion
		x.DeviceType, x.IsBot = p.DeviceType, p.IsBot
	}
	e.Enrichment = x

	if e.Ctx.Campaign == (schemas.Campaign{}) && e.Ctx.Page.URL != "" {
		if c, ok := campaignFromURL(e.Ctx.Page.URL); ok {
			e.Ctx.Campaign = c
			e.Context = withCampaign(e.Context, c)
		}
	}
}

// anonymizeIP zeroes the last octet of an IPv4 address and the last 80 bits of an IPv6
// one, as analytics tools commonly do.
func anonymizeIP(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is4() {
		p, _ := ip.Prefix(24)
		return p.Addr()
	}
	p, _ := ip.Prefix(48)
	return p.Addr()
}

// campaignFromURL reads the utm_* parameters of a page URL.
func campaignFromURL(raw string) (schemas.Campaign, bool) {
	i := strings.IndexByte(raw, '?')
	if i < 0 || !strings.Contains(raw[i:], "utm_") {
		return schemas.Campaign{}, false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return schemas.Campaign{}, false
	}
	q := u.Query()
	c := schemas.Campaign{
		Name: q.Get("utm_campaign"), Source: q.Get("utm_source"), Medium: q.Get("utm_medium"),
		Term: q.Get("utm_term"), Content: q.Get("utm_content"),
	}
	return c, c != (schemas.Campaign{})
}

// withCampaign returns the raw context with campaign set, other keys kept as sent.
func withCampaign(raw json.RawMessage, c schemas.Campaign) json.RawMessage {
	b := appendCampaign(make([]byte, 0, 64), c)
	trimmed := bytes.TrimSpace(raw)
	// The common case, a context object without a campaign key: splice the key in
	// rather than decoding and re-encoding the whole context.
	if len(trimmed) >= 2 && trimmed[0] == '{' && !bytes.Contains(trimmed, []byte(`"campaign"`)) {
		out := make([]byte, 0, len(trimmed)+len(b)+12)
		out = append(out, `{"campaign":`...)
		out = append(out, b...)
		if rest := bytes.TrimSpace(trimmed[1:]); len(rest) > 0 && rest[0] != '}' {
			out = append(out, ',')
		}
		return append(out, trimmed[1:]...)
	}
	ctx := map[string]json.RawMessage{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &ctx); err != nil || ctx == nil {
			return raw
		}
	}
	ctx["campaign"] = b
	out, err := json.Marshal(ctx)
	if err != nil {
		return raw
	}
	return out
}
