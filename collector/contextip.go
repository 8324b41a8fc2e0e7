package collector

import (
	"encoding/json"
	"net/netip"
	"strings"
)

// anonymizedText is the address in text anonymized (see anonymizeIP), or "" when
// text is not an address: free text in an address field cannot be anonymized, so it
// is not kept.
func anonymizedText(text string) string {
	ip, err := netip.ParseAddr(strings.TrimSpace(text))
	if err != nil {
		return ""
	}
	return anonymizeIP(ip).String()
}

// withContextIP returns the raw context with its ip set to ip, or without it when ip
// is "". The other keys keep their values; every copy of a repeated ip key goes.
// Only events whose context carries an ip pay for decoding it.
func withContextIP(raw json.RawMessage, ip string) json.RawMessage {
	ctx := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &ctx); err != nil || ctx == nil {
		return raw
	}
	if ip == "" {
		delete(ctx, "ip")
	} else {
		ctx["ip"] = json.RawMessage(appendString(nil, ip))
	}
	out, err := json.Marshal(ctx)
	if err != nil {
		return raw
	}
	return out
}

// withoutRawIP returns a rejected event's raw text with its context.ip anonymized (or
// dropped, when it is not an address), for the events-invalid record: the raw context
// is stored there too. Text that is not a JSON object with a context object is
// returned as it is.
func withoutRawIP(raw []byte) []byte {
	var event map[string]json.RawMessage
	if err := json.Unmarshal(raw, &event); err != nil || event == nil {
		return raw
	}
	ctxRaw, ok := event["context"]
	if !ok {
		return raw
	}
	var ctx map[string]json.RawMessage
	if err := json.Unmarshal(ctxRaw, &ctx); err != nil || ctx == nil {
		return raw
	}
	ipRaw, ok := ctx["ip"]
	if !ok {
		return raw
	}
	var text string
	_ = json.Unmarshal(ipRaw, &text) // an ip that is not a string is dropped
	event["context"] = withContextIP(ctxRaw, anonymizedText(text))
	out, err := json.Marshal(event)
	if err != nil {
		return raw
	}
	return out
}
