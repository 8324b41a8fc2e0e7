package schemas

import (
	"errors"
	"math"
	"strconv"
)

// maxSafeInteger is the largest integer a JavaScript number holds exactly (2^53 − 1),
// the bound envelope.json puts on screen sizes.
const maxSafeInteger = 1<<53 - 1

// decodeContext fills the typed view c from the raw context object, and reports
// whether it holds a page object. Known keys must have their JSON types (context.page
// must be an object, context.page.url a string); other keys are left to the raw
// context. As in decodeEvent, keys match exactly, null counts as absent and the last
// of repeated keys counts.
func decodeContext(raw []byte, c *Context) (pageSent bool, err error) {
	var v [9][]byte
	lastValues(raw, []string{"page", "userAgent", "locale", "timezone", "ip", "screen", "campaign", "library", "sessionId"}, v[:])
	pageSent = len(v[0]) > 0 && v[0][0] == '{'
	return pageSent, firstError(
		decodePage(v[0], &c.Page),
		decodeString("context.userAgent", v[1], &c.UserAgent),
		decodeString("context.locale", v[2], &c.Locale),
		decodeString("context.timezone", v[3], &c.Timezone),
		decodeString("context.ip", v[4], &c.IP),
		decodeScreen(v[5], &c.Screen),
		decodeCampaign(v[6], &c.Campaign),
		decodeLibrary(v[7], &c.Library),
		decodeStringOrNumber("context.sessionId", v[8], &c.SessionID),
	)
}

func decodePage(raw []byte, p *Page) error {
	if ok, err := isObject("context.page", raw); !ok {
		return err
	}
	var v [5][]byte
	lastValues(raw, []string{"url", "path", "title", "referrer", "search"}, v[:])
	return firstError(
		decodeString("context.page.url", v[0], &p.URL),
		decodeString("context.page.path", v[1], &p.Path),
		decodeString("context.page.title", v[2], &p.Title),
		decodeString("context.page.referrer", v[3], &p.Referrer),
		decodeString("context.page.search", v[4], &p.Search),
	)
}

func decodeScreen(raw []byte, s *Screen) error {
	if ok, err := isObject("context.screen", raw); !ok {
		return err
	}
	var v [3][]byte
	lastValues(raw, []string{"width", "height", "density"}, v[:])
	return firstError(
		decodeInt("context.screen.width", v[0], &s.Width),
		decodeInt("context.screen.height", v[1], &s.Height),
		decodeNumber("context.screen.density", v[2], &s.Density),
	)
}

func decodeCampaign(raw []byte, c *Campaign) error {
	if ok, err := isObject("context.campaign", raw); !ok {
		return err
	}
	var v [5][]byte
	lastValues(raw, []string{"name", "source", "medium", "term", "content"}, v[:])
	return firstError(
		decodeString("context.campaign.name", v[0], &c.Name),
		decodeString("context.campaign.source", v[1], &c.Source),
		decodeString("context.campaign.medium", v[2], &c.Medium),
		decodeString("context.campaign.term", v[3], &c.Term),
		decodeString("context.campaign.content", v[4], &c.Content),
	)
}

func decodeLibrary(raw []byte, l *Library) error {
	if ok, err := isObject("context.library", raw); !ok {
		return err
	}
	var v [2][]byte
	lastValues(raw, []string{"name", "version"}, v[:])
	return firstError(
		decodeString("context.library.name", v[0], &l.Name),
		decodeString("context.library.version", v[1], &l.Version),
	)
}

// decodeNumber sets *dst from a JSON number; null sets 0.
func decodeNumber(field string, v []byte, dst *float64) error {
	if len(v) == 0 {
		return nil
	}
	if v[0] == 'n' {
		*dst = 0
		return nil
	}
	if v[0] != '-' && !isDigit(v[0]) {
		return invalid(field, "must be a number")
	}
	// A number beyond float64 (1e400) is still a number, as in JSON Schema: it
	// becomes ±Inf, or 0 when it is too small.
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return invalid(field, "must be a number")
	}
	*dst = f
	return nil
}

// decodeInt sets *dst from a JSON number with an integer value (1920, 1920.0 and 1.92e3
// alike, as JSON Schema's "integer" takes them) within ±(2^53 − 1); null sets 0.
func decodeInt(field string, v []byte, dst *int) error {
	if len(v) == 0 {
		return nil
	}
	var f float64
	if err := decodeNumber(field, v, &f); err != nil || f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
		return invalid(field, "must be an integer")
	}
	*dst = int(f)
	return nil
}

// decodeStringOrNumber sets *dst from a string, or from a number as its JSON text.
func decodeStringOrNumber(field string, v []byte, dst *string) error {
	if len(v) == 0 {
		return nil
	}
	if v[0] == '-' || isDigit(v[0]) {
		*dst = string(v)
		return nil
	}
	if decodeString(field, v, dst) != nil {
		return invalid(field, "must be a string or a number")
	}
	return nil
}
