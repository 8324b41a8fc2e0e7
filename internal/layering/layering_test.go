package layering

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	module      = "github.com/clicktrail/clicktrail"
	deploy      = module + "/deploy"
	pulsarAdmin = "github.com/apache/pulsar-client-go/pulsaradmin"
)

// TestNoServiceBinaryLinksDeployOrThePulsarAdminClient lists the packages each binary
// of the services is built from (`go list -deps`): none is under deploy/, and none is
// Pulsar's admin client (the patched copy in internal/thirdparty keeps its import path).
func TestNoServiceBinaryLinksDeployOrThePulsarAdminClient(t *testing.T) {
	binaries := goList(t, "-f", "{{.ImportPath}}", "./collector/cmd/...", "./processor/cmd/...", "./archiver/cmd/...")
	for _, want := range []string{"collector/cmd/collector", "processor/cmd/processor", "archiver/cmd/archiver"} {
		if !slices.Contains(binaries, module+"/"+want) {
			t.Fatalf("%s is not among the binaries %v", want, binaries)
		}
	}
	for _, bin := range binaries {
		for _, e := range importEdges(t, "-deps", bin) {
			for _, banned := range []string{deploy, pulsarAdmin} {
				// The way in, not every import within.
				if under(e.to, banned) && !under(e.from, banned) {
					t.Errorf("%s links %s: %s imports it", bin, e.to, e.from)
				}
			}
		}
	}
}

// TestNoProductPackageImportsDeploy reads the imports of every package of the product,
// its tests included, and of everything they import (`go list -deps -test`): none leads
// into deploy/.
func TestNoProductPackageImportsDeploy(t *testing.T) {
	edges := importEdges(t, "-deps", "-test", "./collector/...", "./processor/...", "./archiver/...", "./schemas/...", "./internal/...")
	if len(edges) < 1000 {
		t.Fatalf("only %d imports listed: is the pattern right?", len(edges))
	}
	for _, e := range edges {
		if under(e.to, deploy) {
			t.Errorf("%s imports %s", e.from, e.to)
		}
	}
}

// edge is one import: package from imports package to.
type edge struct{ from, to string }

// importEdges runs go list with args and returns the imports of every package listed.
// A test variant of a package ("pkg [pkg.test]") counts as the package.
func importEdges(t *testing.T, args ...string) []edge {
	t.Helper()
	var out []edge
	for _, line := range goList(t, append([]string{"-f", `{{.ImportPath}}{{range .Imports}}|{{.}}{{end}}`}, args...)...) {
		pkgs := strings.Split(line, "|")
		for _, imp := range pkgs[1:] {
			out = append(out, edge{from: withoutVariant(pkgs[0]), to: withoutVariant(imp)})
		}
	}
	return out
}

func withoutVariant(pkg string) string {
	path, _, _ := strings.Cut(pkg, " [")
	return path
}

// goList runs go list at the repository root and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// under reports whether package path is prefix or below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
