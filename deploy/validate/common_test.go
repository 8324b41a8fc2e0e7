package validate

import (
	"bytes"
	"encoding/xml"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"go.yaml.in/yaml/v3"

	"github.com/clicktrail/clicktrail/archiver"
	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/deploy/demo"
	"github.com/clicktrail/clicktrail/internal/flagenv"
	"github.com/clicktrail/clicktrail/processor"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPinned reports why an image reference is not pinned to a tag or a digest, or
// "" when it is. "latest" does not count as a pin.
func checkPinned(image string) string {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "not an image reference: " + err.Error()
	}
	_, digested := ref.(reference.Digested)
	tagged, isTagged := ref.(reference.Tagged)
	switch {
	case digested:
		return ""
	case !isTagged:
		return "no tag or digest"
	case tagged.Tag() == "latest":
		return "tagged latest"
	}
	return ""
}

// imageProgram is the program an image of ours runs: the last element of its
// repository path for clicktrail/* images, "" for anyone else's.
func imageProgram(image string) string {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	path := reference.Path(ref)
	if !strings.HasPrefix(path, "clicktrail/") {
		return ""
	}
	return strings.TrimPrefix(path, "clicktrail/")
}

// programDirs are the folders whose Go sources read each program's settings.
var programDirs = map[string][]string{
	"collector": {"collector", "collector/cmd/collector"},
	"processor": {"processor", "processor/cmd/processor"},
	"archiver":  {"archiver", "archiver/cmd/archiver"},
	"provision": {"internal/provision", "deploy/provision/cmd/provision"},
	"demo":      {"deploy/demo", "deploy/demo/cmd/demo"},
}

// programFlags registers the flags of each program built on flagenv, which names
// every flag's variable after the flag.
var programFlags = map[string]func(*flag.FlagSet){
	"collector": func(fs *flag.FlagSet) { c := collector.DefaultConfig(); c.RegisterFlags(fs) },
	"processor": func(fs *flag.FlagSet) { c := processor.DefaultConfig(); c.RegisterFlags(fs) },
	"archiver":  func(fs *flag.FlagSet) { c := archiver.DefaultConfig(); c.RegisterFlags(fs) },
	"demo":      func(fs *flag.FlagSet) { c := demo.DefaultConfig(); c.RegisterFlags(fs) },
}

var envName = regexp.MustCompile(`^CLICKTRAIL_[A-Z0-9_]+$`)

// knownEnv returns the CLICKTRAIL_* variables a program reads: those of its flags
// (programFlags), and every string literal of that form in its non-test Go sources
// (os.Getenv calls, hand-written registrations).
func knownEnv(t *testing.T, root, program string) map[string]bool {
	t.Helper()
	dirs, ok := programDirs[program]
	if !ok {
		t.Fatalf("unknown program %q", program)
	}
	known := map[string]bool{}
	if register, ok := programFlags[program]; ok {
		fs := flag.NewFlagSet(program, flag.ContinueOnError)
		register(fs)
		fs.VisitAll(func(f *flag.Flag) { known[flagenv.EnvName(f.Name)] = true })
	}
	for _, dir := range dirs {
		for _, f := range parseGoDir(t, filepath.Join(root, dir)) {
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
						known[s] = true
					}
				}
				return true
			})
		}
	}
	if len(known) == 0 {
		t.Fatalf("no CLICKTRAIL_* variables found in the sources of %s (%v)", program, dirs)
	}
	return known
}

// checkEnv reports every CLICKTRAIL_* name in names that program does not read.
func checkEnv(t *testing.T, root, where, program string, names []string) {
	t.Helper()
	known := knownEnv(t, root, program)
	for _, n := range names {
		if strings.HasPrefix(n, "CLICKTRAIL_") && !known[n] {
			t.Errorf("%s: %s sets %s, which %s does not read", where, program, n, program)
		}
	}
}

// parseGoDir parses the non-test Go files of one folder (not its subfolders).
func parseGoDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// portOf returns the port of a listen address such as ":8088".
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return n
}

// decodeYAMLStrict decodes one YAML document into v, refusing unknown keys.
func decodeYAMLStrict(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return err
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return errMoreDocuments
	}
	return nil
}

type validateError string

func (e validateError) Error() string { return string(e) }

const errMoreDocuments = validateError("more than one YAML document")

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// localPulsarVersion is the Pulsar release of the development broker
// (deploy/local/pulsar/pom.xml): the images and the Helm values use the same.
func localPulsarVersion(t *testing.T, root string) string {
	t.Helper()
	var pom struct {
		Properties struct {
			Pulsar string `xml:"pulsar.version"`
		} `xml:"properties"`
	}
	if err := xml.Unmarshal(readFile(t, filepath.Join(root, "deploy", "local", "pulsar", "pom.xml")), &pom); err != nil {
		t.Fatalf("deploy/local/pulsar/pom.xml: %v", err)
	}
	if pom.Properties.Pulsar == "" {
		t.Fatal("deploy/local/pulsar/pom.xml: no pulsar.version property")
	}
	return pom.Properties.Pulsar
}

// localS3Version reads the versitygw release deploy/local/s3.sh builds (its VERSION=).
func localS3Version(t *testing.T, root string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^VERSION=(\S+)$`).FindSubmatch(readFile(t, filepath.Join(root, "deploy", "local", "s3.sh")))
	if m == nil {
		t.Fatal("deploy/local/s3.sh: no VERSION= line")
	}
	return string(m[1])
}
