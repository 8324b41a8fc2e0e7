// Package thirdparty holds patched copies of dependencies (see README.md). Its test
// checks that each copy is exactly its upstream release plus the patch series kept
// beside it, so the copy can be rebased by re-applying the patches to a new release.
package thirdparty

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const pulsarModule = "github.com/apache/pulsar-client-go"

// TestPulsarClientCopyIsTheReleasePlusThePatches rebuilds the copy from the release the
// root go.mod requires (the Go module proxy's zip) and patches/*.patch, in order, and
// compares every file with pulsar-client-go/.
func TestPulsarClientCopyIsTheReleasePlusThePatches(t *testing.T) {
	version := requiredVersion(t, filepath.Join("..", "..", "go.mod"), pulsarModule)
	release := moduleDir(t, pulsarModule+"@"+version)

	rebuilt := t.TempDir()
	copyTree(t, release, rebuilt, copied)
	patches, err := filepath.Glob(filepath.Join("patches", "*.patch"))
	if err != nil || len(patches) == 0 {
		t.Fatalf("no patches in patches/ (%v)", err)
	}
	sort.Strings(patches)
	for _, p := range patches {
		abs, _ := filepath.Abs(p)
		cmd := exec.Command("git", "apply", "-p1", "--whitespace=nowarn", abs)
		cmd.Dir = rebuilt
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s does not apply to %s %s: %v\n%s", p, pulsarModule, version, err, out)
		}
	}

	want := files(t, rebuilt)
	got := files(t, "pulsar-client-go")
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("pulsar-client-go/%s is missing: the release plus the patches has it", name)
		}
	}
	for name, body := range got {
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("pulsar-client-go/%s is not in the release plus the patches", name)
		case !bytes.Equal(body, w):
			t.Errorf("pulsar-client-go/%s differs from %s %s plus the patches: make the change a patch in patches/", name, pulsarModule, version)
		}
	}
}

// copied says which of the release's files the copy holds: the non-test Go files of
// the packages the services use, and the module's go.mod, go.sum, LICENSE and NOTICE.
func copied(rel string) bool {
	switch rel {
	case "go.mod", "go.sum", "LICENSE", "NOTICE":
		return true
	}
	top, _, _ := strings.Cut(rel, "/")
	switch top {
	case "oauth2", "pulsar", "pulsaradmin":
		return strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go")
	}
	return false
}

func requiredVersion(t *testing.T, gomod, module string) string {
	t.Helper()
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s does not require %s", gomod, module)
	}
	return string(m[1])
}

// moduleDir downloads module@version through the Go module proxy (or finds it in the
// module cache) and returns its folder.
func moduleDir(t *testing.T, modVersion string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", modVersion).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", modVersion, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", modVersion, err, info.Error)
	}
	return info.Dir
}

func copyTree(t *testing.T, from, to string, keep func(rel string) bool) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		rel = filepath.ToSlash(rel)
		if !keep(rel) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
}

func files(t *testing.T, root string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path)
		m[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", root, err)
	}
	return m
}
