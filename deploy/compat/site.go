package compat

import (
	"embed"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
)

//go:embed runners
var runners embed.FS

// Site is the customer's site of the browser clients: a page per client that loads the
// library's browser build from the npm package and sets it up with the README's
// snippet, and /__delivered, which the browser runner polls until the collector has
// accepted every event of a client.
type Site struct {
	nodeDir string
	tap     *Tap
	// pages maps a page's path to its HTML.
	pages map[string]string
}

// NewSite serves the libraries installed in nodeDir and reports deliveries seen by tap.
func NewSite(nodeDir string, tap *Tap) *Site {
	return &Site{nodeDir: nodeDir, tap: tap, pages: map[string]string{}}
}

// AddPage makes the page of a browser client c at BrowserPagePath(c.Name), with its
// README snippet filled in (snippet).
func (s *Site) AddPage(c Client, snippet string) error {
	tmpl := "runners/segment.html"
	if strings.HasPrefix(c.Name, "rudder") {
		tmpl = "runners/rudder.html"
	}
	b, err := runners.ReadFile(tmpl)
	if err != nil {
		return err
	}
	v := SnippetVar(snippet)
	if v == "" {
		return fmt.Errorf("the README's snippet %q exports nothing (export const NAME = ...)", c.Snippet)
	}
	html := strings.NewReplacer("{{TITLE}}", "Compat – "+c.Label, "{{SNIPPET}}", ForPage(snippet), "{{VAR}}", v).Replace(string(b))
	s.pages[BrowserPagePath(c.Name)] = html
	return nil
}

func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/lib/analytics-next/"):
		// The UMD build and the chunks it loads next to itself.
		name := strings.TrimPrefix(p, "/lib/analytics-next/")
		http.ServeFile(w, r, filepath.Join(s.nodeDir, "node_modules", "@segment", "analytics-next", "dist", "umd", filepath.Base(name)))
	case p == "/lib/rudder/index.js":
		http.ServeFile(w, r, filepath.Join(s.nodeDir, "node_modules", "@rudderstack", "analytics-js", "dist", "npm", "modern", "bundled", "umd", "index.js"))
	case p == "/__delivered":
		client := r.URL.Query().Get("client")
		var want int
		fmt.Sscan(r.URL.Query().Get("n"), &want)
		got := len(s.tap.AcceptedEvents()[client])
		if got >= want {
			fmt.Fprintf(w, "%d of %d accepted", got, want)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%d of %d accepted; problems: %v", got, want, s.tap.Problems()[client])
	default:
		html, ok := s.pages[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	}
}
