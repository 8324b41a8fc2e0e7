package processor

import (
	"embed"
	"io/fs"
	"net/http"
)

// web holds the dashboard page: plain HTML, CSS and JavaScript, no external assets.
//
//go:embed web
var web embed.FS

// dashboardHandler serves the page at / and its assets. The page reads the tenant and
// its read key from its own query string (?tenant=...&key=...).
func dashboardHandler() http.Handler {
	sub, _ := fs.Sub(web, "web") // cannot fail: "web" is embedded
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
