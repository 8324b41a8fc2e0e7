package collector

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

// requestInfo is what enrichment takes from the HTTP request.
type requestInfo struct {
	receivedAt time.Time
	clientIP   netip.Addr
	headers    requestHeaders
	source     *sources.Source
	sentAt     *schemas.Time // the batch's sentAt, for events without their own

	ipText string // clientIP as stored, once computed
	ipDone bool

	agent     agent // headers.userAgent parsed, once computed
	agentDone bool
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

// headerAgent returns the User-Agent header (already capped) parsed, once per request
// whatever the number of events.
func (r *requestInfo) headerAgent(agents *userAgents) agent {
	if !r.agentDone {
		r.agentDone = true
		r.agent = agents.parse(r.headers.userAgent)
	}
	return r.agent
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
// client's kept as originalTimestamp), sentAt (the batch's when the event has none), a
// generated messageId when there is none, the IP (see ip), the parsed user agent and
// bot flag unless the event is server-side (see serverSide), the campaign from the page
// URL when the context has none, and tenant and source. context.ip is stored
// anonymized unless keepFullIP, like the IP.
//
// It rejects the event, with a *schemas.ValidationError naming the field and leaving e
// as it was, when a timestamp to be stored (the client's original: originalTimestamp,
// or timestamp when there is none; sentAt, the event's or its batch's; the corrected
// timestamp) lies outside the years 0001 to 9999 in UTC: readers downstream refuse
// such a year, so the event goes to events-invalid instead of being acknowledged and
// lost later.
func (en *enricher) enrich(e *schemas.Event, r *requestInfo) error {
	original, originalField := e.OriginalTimestamp, "originalTimestamp"
	if original == nil {
		original, originalField = e.Timestamp, "timestamp"
	}
	if err := schemas.CheckYearRange(originalField, original); err != nil {
		return err
	}
	sentAt := e.SentAt
	if sentAt == nil {
		sentAt = r.sentAt
	}
	if err := schemas.CheckYearRange("sentAt", sentAt); err != nil {
		return err
	}
	ts := schemas.CorrectTimestamp(original, sentAt, r.receivedAt)
	if !schemas.InYearRange(ts) {
		return &schemas.ValidationError{Field: "timestamp", Reason: "corrected for the client's clock (receivedAt − (sentAt − originalTimestamp)) falls outside the years 0001 to 9999"}
	}

	e.ReceivedAt = schemas.NewTime(r.receivedAt)
	e.OriginalTimestamp = original
	e.Timestamp = schemas.NewTime(ts)
	e.SentAt = sentAt
	e.MessageIDGenerated = false
	if e.MessageID == "" {
		e.MessageID = uuid.NewString()
		e.MessageIDGenerated = true
	}
	e.Tenant, e.Source = r.source.Tenant, r.source.ID

	x := &schemas.Enrichment{IP: en.ip(e, r), ServerSide: serverSide(e, r.source)}
	if !x.ServerSide {
		if p, ok := en.agent(e, r); ok {
			x.Browser, x.BrowserVersion = p.Browser, p.BrowserVersion
			x.OS, x.OSVersion = p.OS, p.OSVersion
			x.DeviceType, x.IsBot = p.DeviceType, p.IsBot
		}
	}
	e.Enrichment = x
	if e.Ctx.IP != "" && !en.keepFullIP {
		e.Ctx.IP = anonymizedText(e.Ctx.IP)
		e.Context = withContextIP(e.Context, e.Ctx.IP)
	}

	if e.Ctx.Campaign == (schemas.Campaign{}) && e.Ctx.Page.URL != "" {
		if c, ok := campaignFromURL(e.Ctx.Page.URL); ok {
			e.Ctx.Campaign = c
			e.Context = withCampaign(e.Context, c)
		}
	}
	return nil
}

// ip returns the visitor's address as stored, anonymized unless keepFullIP: for a
// server source, context.ip when it is an address (the server sends on the visitor's
// behalf and knows it); otherwise, and when it is not, the request's (see
// requestInfo.ip). A browser's context.ip is never taken: a page could claim any.
func (en *enricher) ip(e *schemas.Event, r *requestInfo) string {
	if r.source.Server && e.Ctx.IP != "" {
		if ip, err := netip.ParseAddr(strings.TrimSpace(e.Ctx.IP)); err == nil {
			if !en.keepFullIP {
				ip = anonymizeIP(ip)
			}
			return ip.String()
		}
	}
	return r.ip(en.keepFullIP)
}

// serverSide reports whether e comes from a server rather than a visitor's browser:
// its source is marked server, its channel is "server" (RudderStack's server libraries
// say so), or its library is one of Segment's or RudderStack's server libraries. The
// User-Agent of such a request names the library or its HTTP client, not a browser.
func serverSide(e *schemas.Event, src *sources.Source) bool {
	if src.Server || e.Channel == "server" {
		return true
	}
	switch e.Ctx.Library.Name {
	case "analytics-python", "analytics-node", "@segment/analytics-node", "analytics-go",
		"analytics-ruby", "analytics-java", "analytics-php", "Analytics.NET":
		return true
	}
	return false
}

// agent returns the event's context.userAgent parsed (its first maxUserAgentBytes, so
// that every parse is bounded and cached), or else the request's User-Agent header,
// parsed once per request; false when there is neither.
func (en *enricher) agent(e *schemas.Event, r *requestInfo) (agent, bool) {
	if ua := e.Ctx.UserAgent; ua != "" {
		ua, _ = schemas.TruncateUTF8(ua, maxUserAgentBytes)
		return en.agents.parse(ua), true
	}
	if r.headers.userAgent != "" {
		return r.headerAgent(en.agents), true
	}
	return agent{}, false
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
