package collector

import (
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/mileusna/useragent"
)

const (
	// uaCacheSize bounds the user agents kept parsed. Real traffic repeats a few
	// thousand user agents (browser × version × OS) for most of its events.
	uaCacheSize = 4096
	// uaCacheMaxLen keeps hostile, huge User-Agent strings out of the cache: at most
	// uaCacheSize × uaCacheMaxLen bytes of keys. Real ones are 100 to 300 bytes, and
	// enrichment only parses the first maxUserAgentBytes of any.
	uaCacheMaxLen = maxUserAgentBytes
)

// agent is what enrichment takes from a user agent string.
type agent struct {
	Browser, BrowserVersion string
	OS, OSVersion           string
	DeviceType              string
	IsBot                   bool
}

// userAgents parses user agent strings (github.com/mileusna/useragent) and keeps the
// most recently used results: parsing was a twentieth of the collector's CPU, every
// event of a batch usually carries the same string, and visitors share a few.
type userAgents struct {
	cache  *lru.Cache[string, agent]
	parsed atomic.Int64 // strings parsed, not taken from the cache
}

func newUserAgents(size int) *userAgents {
	c, err := lru.New[string, agent](size)
	if err != nil {
		// lru.New fails only for a size below 1.
		return &userAgents{}
	}
	return &userAgents{cache: c}
}

// parse returns what ua says, from the cache when it is there.
func (u *userAgents) parse(ua string) agent {
	cacheable := u.cache != nil && len(ua) <= uaCacheMaxLen
	if cacheable {
		if a, ok := u.cache.Get(ua); ok {
			return a
		}
	}
	u.parsed.Add(1)
	p := useragent.Parse(ua)
	a := agent{
		Browser: p.Name, BrowserVersion: p.Version,
		OS: p.OS, OSVersion: p.OSVersion,
		DeviceType: deviceType(p), IsBot: p.Bot,
	}
	if cacheable {
		u.cache.Add(ua, a)
	}
	return a
}

func deviceType(p useragent.UserAgent) string {
	switch {
	case p.Bot:
		return "bot"
	case p.Tablet:
		return "tablet"
	case p.Mobile:
		return "mobile"
	case p.Desktop:
		return "desktop"
	default:
		return "unknown"
	}
}
