package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTheRootIsFoundFromTheTestOnlyModules: the tests of deploy/validate and
// deploy/demo/e2e, modules with a go.mod of their own, find the repository's scripts
// from the repository root, not from their own module's folder.
func TestTheRootIsFoundFromTheTestOnlyModules(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	modules := []string{filepath.Join(root, "deploy", "validate"), filepath.Join(root, "deploy", "demo", "e2e")}
	for _, dir := range modules {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			t.Errorf("%s is no longer a module of its own: %v", dir, err)
		}
	}
	for _, dir := range append(modules, root, filepath.Join(root, "internal", "testenv")) {
		got, err := rootAbove(dir)
		if err != nil || got != root {
			t.Errorf("rootAbove(%s) = %q, %v; want %s", dir, got, err, root)
		}
	}
}
