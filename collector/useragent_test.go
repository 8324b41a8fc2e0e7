package collector

import (
	"strings"
	"testing"
)

func TestUserAgentsAreParsedOnceAndKeptWithinBounds(t *testing.T) {
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	u := newUserAgents(2)
	first := u.parse(chrome)
	if first.Browser != "Chrome" || first.OS != "Windows" || first.DeviceType != "desktop" || first.IsBot {
		t.Fatalf("parsed %+v", first)
	}
	if again := u.parse(chrome); again != first || u.cache.Len() != 1 {
		t.Errorf("second parse %+v with %d cached", again, u.cache.Len())
	}
	huge := "Mozilla/5.0 " + strings.Repeat("x", uaCacheMaxLen)
	u.parse(huge)
	if u.cache.Contains(huge) {
		t.Error("a user agent longer than the cache's bound was kept")
	}
	u.parse("curl/8.0")
	u.parse("Wget/1.21")
	if n := u.cache.Len(); n != 2 {
		t.Errorf("%d user agents cached, want at most 2", n)
	}
}
