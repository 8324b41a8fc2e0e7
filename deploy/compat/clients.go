package compat

import "strings"

// Client is one official tracking client under test, set up as the README's section
// "Use the SDK you already have" says.
type Client struct {
	// Name identifies the client in ids, file names and failures.
	Name string
	// Label is how the README's compatibility table names it; Version its version.
	Label, Version string
	// Browser says the client runs in Chromium (on a page of the test's site);
	// otherwise it is a server library run by Python or Node.
	Browser bool
	// Snippet names the README's code block that sets the client up (see Snippet).
	Snippet string
	// Types are the call types the library offers.
	Types []string
	// LeaveToFlush says the client delivers when the page is left (a beacon).
	LeaveToFlush bool
	// Channel is the channel the client sends ("" for none).
	Channel string
	// Library is the context.library.name the client sends.
	Library string
	// Post is where the client posts an event of a type: see PathOf.
	Post string
	// RetryHeader is the header the client's retries carry ("" when the test does
	// not fail its first request: a beacon's answer is never read).
	RetryHeader string
}

// Clients are every client the test drives.
func Clients() []Client {
	all := []string{"page", "track", "identify", "group", "screen", "alias"}
	noScreen := []string{"page", "track", "identify", "group", "alias"}
	return []Client{
		{Name: "analytics-js", Label: "analytics.js (`@segment/analytics-next`), default delivery", Version: AnalyticsNextVersion, Browser: true,
			Snippet: "analytics.js", Types: all, Library: "analytics.js", RetryHeader: "X-Retry-Count", Post: "short"},
		{Name: "analytics-js-batching", Label: "analytics.js (`@segment/analytics-next`), batching delivery", Version: AnalyticsNextVersion, Browser: true,
			Snippet: "analytics.js batching", Types: all, Library: "analytics.js", RetryHeader: "X-Retry-Count", Post: "/v1/b"},
		{Name: "rudder-js", Label: "RudderStack JavaScript SDK (`@rudderstack/analytics-js`), XHR delivery", Version: RudderJSVersion, Browser: true,
			Snippet: "RudderStack JavaScript SDK", Types: noScreen, Channel: "web", Library: "RudderLabs JavaScript SDK", RetryHeader: "Rsa-Retry-Attempt", Post: "long"},
		{Name: "rudder-js-beacon", Label: "RudderStack JavaScript SDK (`@rudderstack/analytics-js`), beacon delivery", Version: RudderJSVersion, Browser: true,
			Snippet: "RudderStack JavaScript SDK beacon", Types: noScreen, LeaveToFlush: true, Channel: "web", Library: "RudderLabs JavaScript SDK", Post: "/beacon/v1/batch"},
		{Name: "segment-python", Label: "Segment's Python library (`segment-analytics-python`)", Version: SegmentPythonVersion,
			Snippet: "segment-analytics-python", Types: all, Library: "analytics-python", Post: "/v1/batch"},
		{Name: "rudder-python", Label: "RudderStack's Python SDK (`rudder-sdk-python`)", Version: RudderPythonVersion,
			Snippet: "rudder-sdk-python", Types: all, Channel: "server", Library: "analytics-python", Post: "/v1/batch"},
		{Name: "analytics-node", Label: "Segment's Node library (`@segment/analytics-node`)", Version: AnalyticsNodeVersion,
			Snippet: "@segment/analytics-node", Types: all, Library: "@segment/analytics-node", Post: "/v1/batch"},
		{Name: "rudder-node", Label: "RudderStack's Node SDK (`@rudderstack/rudder-sdk-node`)", Version: RudderNodeVersion,
			Snippet: "@rudderstack/rudder-sdk-node", Types: all, Channel: "server", Library: "analytics-node", Post: "/v1/batch"},
	}
}

// PathOf is the path the client posts an event of type typ to: "short" is
// analytics.js's /v1/ and the type's first letter, "long" /v1/ and the type.
func (c Client) PathOf(typ string) string {
	switch c.Post {
	case "short":
		return "/v1/" + typ[:1]
	case "long":
		return "/v1/" + typ
	}
	return c.Post
}

// Call is one call of the scenario in a form every runner maps to its library's API.
type Call struct {
	Type         string         `json:"type"`
	Event        string         `json:"event,omitempty"`
	Name         string         `json:"name,omitempty"`
	Category     string         `json:"category,omitempty"`
	UserID       string         `json:"userId,omitempty"`
	GroupID      string         `json:"groupId,omitempty"`
	PreviousID   string         `json:"previousId,omitempty"`
	Properties   map[string]any `json:"properties,omitempty"`
	Traits       map[string]any `json:"traits,omitempty"`
	Context      map[string]any `json:"context,omitempty"`
	Integrations map[string]any `json:"integrations,omitempty"`
}

// Values the scenario sends, unicode and characters JSON and HTML escape included.
const (
	TrackEvent   = "Bestellung abgeschlossen ✓ 注文"
	PageName     = "Preise – Übersicht 💶"
	PageCategory = "Kaufen & <Sparen>"
	ScreenName   = "Startbildschirm 📱"
	ScreenCat    = "App"
	GroupID      = "gruppe-zürich"
	// ContextIP is the visitor's address a server sends in context.ip.
	ContextIP = "203.0.113.77"
	// ServerReferrer is where the server-side page's visitor came from.
	ServerReferrer = "https://news.example/artikel?id=7"
	// BrowserReferrer is the page the browser comes from.
	BrowserReferrer = "https://ref.example/von?x=1"
	// UTMSource is the campaign of every page's URL.
	UTMSource = "compat"
)

// Ids are the identifiers of a client in a run.
func AnonymousID(run, client string) string { return "anon-" + run + "-" + client }
func UserID(run, client string) string      { return "user-" + run + "-" + client }

// ClientOf returns the client an id of AnonymousID or UserID belongs to, "" for none.
func ClientOf(run, id string) string {
	for _, prefix := range []string{"anon-" + run + "-", "user-" + run + "-"} {
		if c, ok := strings.CutPrefix(id, prefix); ok {
			return c
		}
	}
	return ""
}

// ServerPagePath is the path of a server client's page call.
func ServerPagePath(client string) string { return "/preise/übersicht-" + client }

// BrowserPagePath is the path of a browser client's page.
func BrowserPagePath(client string) string { return "/shop/" + client + ".html" }

// Scenario returns the calls client makes in run: every call type it offers, each
// with nested properties or traits and unicode. A browser client is known by its
// anonymousId (set first) until identify; a server client sends its userId on every
// call, and the visitor's address in the context of its track call.
func Scenario(c Client, run string) []Call {
	user := UserID(run, c.Name)
	props := map[string]any{
		"bestellung": map[string]any{
			"id":        "o-1",
			"artikel":   []any{map[string]any{"sku": "s-1", "name": "Café crème", "preis": 9.5, "menge": 2}, map[string]any{"sku": "s-2", "name": "日本茶"}},
			"gutschein": nil,
			"versand":   map[string]any{"land": "CH", "express": true},
		},
		"umsatz": 42.5,
		"emoji":  "🚀",
		"html":   `"<b>&</b>"`,
	}
	pageProps := map[string]any{"abschnitt": map[string]any{"name": "Preise", "tiefe": []any{1, 2, 3}}}
	if !c.Browser {
		// The spec's server-side page: the page fields in properties.
		url := "https://shop.example" + ServerPagePath(c.Name) + "?utm_source=" + UTMSource + "&q=ä"
		pageProps["url"], pageProps["path"], pageProps["title"] = url, ServerPagePath(c.Name), PageName
		pageProps["referrer"], pageProps["search"] = ServerReferrer, "?utm_source="+UTMSource+"&q=ä"
	}
	traits := map[string]any{"name": "Zoë Ünïcode 名前", "email": "zoe@example.com", "plan": map[string]any{"stufe": "pro", "plätze": 3, "tags": []any{"a", "ß"}}}
	var calls []Call
	for _, typ := range c.Types {
		call := Call{Type: typ}
		if !c.Browser {
			call.UserID = user
		}
		switch typ {
		case "page":
			call.Name, call.Category, call.Properties = PageName, PageCategory, pageProps
		case "track":
			call.Event, call.Properties = TrackEvent, props
			call.Integrations = map[string]any{"All": false, "Mixpanel": true, "Amplitude": map[string]any{"session_id": 1}}
			if !c.Browser {
				call.Context = map[string]any{"ip": ContextIP}
			}
		case "identify":
			call.UserID, call.Traits = user, traits
		case "group":
			call.GroupID, call.Traits = GroupID, map[string]any{"name": "Acme GmbH", "adresse": map[string]any{"stadt": "Zürich"}}
		case "screen":
			call.Name, call.Category, call.Properties = ScreenName, ScreenCat, map[string]any{"tab": map[string]any{"index": 2}}
		case "alias":
			call.UserID, call.PreviousID = user, "vorher-"+run+"-"+c.Name
		}
		calls = append(calls, call)
	}
	return calls
}
