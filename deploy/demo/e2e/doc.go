// Package e2e is the demo's end-to-end test: a visitor in headless Chromium clicks
// through the demo site (deploy/demo) while the simulator sends a crowd, and the
// archive, the processor's API and the dashboard must agree (e2e_test.go).
//
// It is a module of its own (joined by the repository's go.work) because it drives
// Chromium with chromedp, which the product's go.mod need not carry. The package holds
// only tests; `go test ./deploy/demo/e2e/...` at the repository root runs them.
package e2e
