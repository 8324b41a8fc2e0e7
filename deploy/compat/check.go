package compat

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Expect is what the checks know of the run.
type Expect struct {
	Run, Tenant string
	// Sources maps a client's name to its source id.
	Sources map[string]string
	// Started and Ended bound the run: every event was received between them.
	Started, Ended time.Time
}

// CheckClient compares every event client c had accepted (sent) with its row of the
// lake, column by column, against what the client sent and the scenario it was given.
// Each failure names the client, the call and the column.
func (x Expect) CheckClient(c Client, sent []Sent, rows map[string][]Row) []string {
	var fails []string
	failf := func(call, col, format string, args ...any) {
		fails = append(fails, fmt.Sprintf("%s, %s call, column %s: %s", c.Name, call, col, fmt.Sprintf(format, args...)))
	}
	byType := map[string][]Sent{}
	for _, s := range sent {
		t, _ := s.Event["type"].(string)
		byType[t] = append(byType[t], s)
	}
	for _, call := range Scenario(c, x.Run) {
		got := byType[call.Type]
		if len(got) != 1 {
			failf(call.Type, "-", "%d events of this call were accepted, want 1", len(got))
			continue
		}
		s := got[0]
		id, _ := s.Event["messageId"].(string)
		rs := rows[id]
		if len(rs) != 1 {
			failf(call.Type, "message_id", "%d rows with the messageId %q the client sent, want 1", len(rs), id)
			continue
		}
		if want := c.PathOf(call.Type); s.Path != want {
			failf(call.Type, "-", "posted to %s, want %s", s.Path, want)
		}
		for _, f := range x.checkRow(c, call, s, rs[0]) {
			failf(call.Type, f.col, "%s", f.msg)
		}
	}
	return fails
}

type failure struct{ col, msg string }

// checkRow checks one row against the event sent and the call made.
func (x Expect) checkRow(c Client, call Call, s Sent, r Row) []failure {
	var fails []failure
	text := func(col, want string) {
		if got := r.Text(col); got != want {
			fails = append(fails, failure{col, fmt.Sprintf("%q, want %q", got, want)})
		}
	}
	flag := func(col string, want bool) {
		if got, _ := r[col].(bool); got != want {
			fails = append(fails, failure{col, fmt.Sprintf("%v, want %v", r[col], want)})
		}
	}
	jsonEqual := func(col string, want any) {
		got := r.Text(col)
		if want == nil {
			if got != "" {
				fails = append(fails, failure{col, fmt.Sprintf("%s, want none", got)})
			}
			return
		}
		var g any
		if err := json.Unmarshal([]byte(got), &g); err != nil || !reflect.DeepEqual(g, want) {
			w, _ := json.Marshal(want)
			fails = append(fails, failure{col, fmt.Sprintf("%s, want %s (as sent)", got, w)})
		}
	}
	// contains wants every key the call passed, nulls aside: RudderStack's
	// JavaScript SDK leaves null values out of what it sends.
	contains := func(col string, want map[string]any) {
		var g map[string]any
		_ = json.Unmarshal([]byte(r.Text(col)), &g)
		for k, v := range withoutNulls(normalized(want)).(map[string]any) {
			if !reflect.DeepEqual(withoutNulls(g[k]), v) {
				gv, _ := json.Marshal(g[k])
				wv, _ := json.Marshal(v)
				fails = append(fails, failure{col, fmt.Sprintf("key %q is %s, want %s (as the call passed it)", k, gv, wv)})
			}
		}
	}
	at := func(col string, want time.Time) {
		if got := r.Millis(col); got != want.UnixMilli() {
			fails = append(fails, failure{col, fmt.Sprintf("%s, want %s", time.UnixMilli(got).UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))})
		}
	}
	within := func(col string, lo, hi time.Time) {
		got := time.UnixMilli(r.Millis(col))
		if got.Before(lo.Truncate(time.Millisecond)) || got.After(hi) {
			fails = append(fails, failure{col, fmt.Sprintf("%s, want between %s and %s", got.UTC().Format(time.RFC3339Nano), lo.UTC().Format(time.RFC3339Nano), hi.UTC().Format(time.RFC3339Nano))})
		}
	}

	e := s.Event
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	obj := func(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }
	ctx := obj(e, "context")

	// Identity, as the call gave it.
	text("message_id", str(e, "messageId"))
	flag("message_id_generated", false)
	text("type", call.Type)
	text("event", call.Event)
	text("name", call.Name)
	text("category", call.Category)
	text("group_id", call.GroupID)
	text("previous_id", call.PreviousID)
	wantUser := call.UserID
	if c.Browser && (call.Type == "page" || call.Type == "track") {
		// Made before identify: a browser library fills in the userId it knows when
		// it sends (analytics.js's retry of them comes after identify).
		wantUser = str(e, "userId")
	} else if c.Browser {
		wantUser = UserID(x.Run, c.Name)
	}
	text("user_id", wantUser)
	wantAnon := ""
	if c.Browser {
		wantAnon = AnonymousID(x.Run, c.Name)
	}
	text("anonymous_id", wantAnon)
	if wantAnon != "" {
		text("user_key", wantAnon)
	} else {
		text("user_key", wantUser)
	}
	text("tenant", x.Tenant)
	text("source", x.Sources[c.Name])
	text("channel", c.Channel)
	text("library_name", c.Library)
	text("library_version", str(obj(ctx, "library"), "version"))

	// Times: the client's, its sentAt (the event's or the batch's), the collector's.
	original := str(e, "originalTimestamp")
	if original == "" {
		original = str(e, "timestamp")
	}
	if t, err := time.Parse(time.RFC3339Nano, original); err == nil {
		at("original_timestamp", t)
	} else {
		fails = append(fails, failure{"original_timestamp", fmt.Sprintf("the client sent no timestamp the test can read: %q", original)})
	}
	sentAt := str(e, "sentAt")
	if sentAt == "" {
		sentAt = s.BatchSentAt
	}
	if t, err := time.Parse(time.RFC3339Nano, sentAt); err == nil {
		at("sent_at", t)
	} else {
		fails = append(fails, failure{"sent_at", fmt.Sprintf("the client sent no sentAt the test can read (event or batch): %q", sentAt)})
	}
	within("received_at", s.Received.Add(-time.Second), s.Received.Add(5*time.Second))
	within("timestamp", x.Started.Add(-time.Minute), r.timeOf("received_at"))

	// Page fields: context.page, or a page call's properties (the server-side form).
	page := obj(ctx, "page")
	if page == nil && call.Type == "page" {
		page = obj(e, "properties")
	}
	wantURL, wantPath := str(page, "url"), str(page, "path")
	if wantPath == "" && wantURL != "" {
		if u, err := url.Parse(wantURL); err == nil {
			wantPath = u.Path
		}
	}
	text("page_url", wantURL)
	text("page_path", wantPath)
	text("page_title", str(page, "title"))
	text("referrer", str(page, "referrer"))
	if call.Type == "page" {
		// What the scenario's page is, whichever form carried it.
		if c.Browser {
			text("page_path", BrowserPagePath(c.Name))
			text("referrer", BrowserReferrer)
		} else {
			text("page_path", ServerPagePath(c.Name))
			text("page_title", PageName)
			text("referrer", ServerReferrer)
		}
	}
	campaign := obj(ctx, "campaign")
	wantUTM := str(campaign, "source")
	if campaign == nil && wantURL != "" {
		if u, err := url.Parse(wantURL); err == nil {
			wantUTM = u.Query().Get("utm_source")
		}
	}
	text("utm_source", wantUTM)
	text("user_agent", str(ctx, "userAgent"))
	text("locale", str(ctx, "locale"))
	text("timezone", str(ctx, "timezone"))

	// What the collector derives: browser and device for a browser only, the address.
	if c.Browser {
		if r.Text("browser") == "" || r.Text("os") == "" {
			fails = append(fails, failure{"browser", fmt.Sprintf("browser %q, os %q: want Chromium's", r.Text("browser"), r.Text("os"))})
		}
		text("device_type", "desktop")
	} else {
		text("browser", "")
		text("browser_version", "")
		text("os", "")
		text("device_type", "")
	}
	flag("is_bot", false)
	wantIP := "127.0.0.0" // loopback, anonymized
	if ip, ok := call.Context["ip"].(string); ok && !c.Browser {
		wantIP = strings.TrimSuffix(ip, ".77") + ".0"
	}
	text("ip", wantIP)
	if strings.Contains(r.Text("context"), ContextIP) {
		fails = append(fails, failure{"context", "holds the visitor's full address " + ContextIP + " against the privacy setting"})
	}
	if call.Context["ip"] != nil && !c.Browser {
		var stored map[string]any
		_ = json.Unmarshal([]byte(r.Text("context")), &stored)
		if stored["ip"] != wantIP {
			fails = append(fails, failure{"context", fmt.Sprintf("ip %v, want %s (anonymized)", stored["ip"], wantIP)})
		}
	}
	for k, v := range ctx {
		if k == "ip" || k == "campaign" {
			continue
		}
		var stored map[string]any
		_ = json.Unmarshal([]byte(r.Text("context")), &stored)
		if !reflect.DeepEqual(stored[k], normalizedValue(v)) {
			gv, _ := json.Marshal(stored[k])
			wv, _ := json.Marshal(v)
			fails = append(fails, failure{"context", fmt.Sprintf("key %q is %s, want %s (as sent)", k, gv, wv)})
		}
	}

	// Free-form parts: as sent, and holding what the call passed.
	jsonEqual("properties", normalizedValue(e["properties"]))
	traits := e["traits"]
	if traits == nil && call.Type == "identify" {
		traits = ctx["traits"] // RudderStack's form
	}
	jsonEqual("traits", normalizedValue(traits))
	jsonEqual("integrations", normalizedValue(e["integrations"]))
	if call.Properties != nil {
		contains("properties", call.Properties)
	}
	if call.Traits != nil {
		contains("traits", call.Traits)
	}
	if call.Integrations != nil {
		contains("integrations", call.Integrations)
	}
	return fails
}

func (r Row) timeOf(col string) time.Time { return time.UnixMilli(r.Millis(col)) }

// withoutNulls is v without its null values, at any depth (v as JSON decodes it).
func withoutNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if x != nil {
				out[k] = withoutNulls(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = withoutNulls(x)
		}
		return out
	}
	return v
}

// normalized is m as JSON decodes it (numbers as float64), for comparisons.
func normalized(m map[string]any) map[string]any {
	v, _ := normalizedValue(m).(map[string]any)
	return v
}

func normalizedValue(v any) any {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// RowsByMessageID indexes rows by message_id, keeping those of the run (their
// user_id or anonymous_id names a client of the run).
func RowsByMessageID(rows []Row, run string) map[string][]Row {
	out := map[string][]Row{}
	for _, r := range rows {
		if ClientOf(run, r.Text("anonymous_id")) == "" && ClientOf(run, r.Text("user_id")) == "" {
			continue
		}
		out[r.Text("message_id")] = append(out[r.Text("message_id")], r)
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
