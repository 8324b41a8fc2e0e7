package validate

import (
	"debug/elf"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mattn/go-shellwords"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// dockerfile is deploy/Dockerfile, parsed by BuildKit.
type dockerfile struct {
	stages []instructions.Stage
	byName map[string]*instructions.Stage
}

func parseDockerfile(t *testing.T, file string) *dockerfile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: parser warning: %s", file, w.Short)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if len(metaArgs) > 0 {
		t.Errorf("%s: ARG before FROM: base images must be written out, so they can be checked", file)
	}
	d := &dockerfile{stages: stages, byName: map[string]*instructions.Stage{}}
	for i := range d.stages {
		s := &d.stages[i]
		if s.Name == "" {
			t.Errorf("%s: an unnamed stage FROM %s: name every stage", file, s.BaseName)
			continue
		}
		if d.byName[s.Name] != nil {
			t.Errorf("%s: two stages named %s", file, s.Name)
		}
		d.byName[s.Name] = s
	}
	return d
}

// chain returns the stage and the stages it is built FROM, nearest first.
func (d *dockerfile) chain(name string) []*instructions.Stage {
	var out []*instructions.Stage
	for s := d.byName[name]; s != nil; s = d.byName[s.BaseName] {
		out = append(out, s)
	}
	return out
}

// commands returns the commands of type T of a stage and its parents, parents first.
func commands[T instructions.Command](d *dockerfile, name string) []T {
	var out []T
	ch := d.chain(name)
	for i := len(ch) - 1; i >= 0; i-- {
		for _, c := range ch[i].Commands {
			if v, ok := c.(T); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// env returns the ENV of a stage, parents included.
func (d *dockerfile) env(name string) map[string]string {
	out := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](d, name) {
		for _, kv := range e.Env {
			out[kv.Key] = kv.Value
		}
	}
	return out
}

// copied maps each file a stage copies from another stage to where it came from
// ("stage:/path").
func (d *dockerfile) copied(name string) map[string]string {
	out := map[string]string{}
	for _, c := range commands[*instructions.CopyCommand](d, name) {
		if c.From == "" {
			continue
		}
		for _, src := range c.SourcePaths {
			dst := c.DestPath
			if strings.HasSuffix(dst, "/") {
				dst = path.Join(dst, path.Base(src))
			}
			out[dst] = c.From + ":" + src
		}
	}
	return out
}

// images of deploy/Dockerfile: target name = program name.
var dockerTargets = []string{"collector", "processor", "archiver", "provision", "demo"}

// runsOnce are the targets that exit when done, so have nothing to probe.
var runsOnce = map[string]bool{"provision": true}

func TestDockerfile(t *testing.T) {
	root := testenv.Root(t)
	d := parseDockerfile(t, filepath.Join(root, "deploy", "Dockerfile"))

	t.Run("every base image is pinned", func(t *testing.T) {
		for _, s := range d.stages {
			if s.BaseName == "scratch" || d.byName[s.BaseName] != nil {
				continue
			}
			if why := checkPinned(s.BaseName); why != "" {
				t.Errorf("stage %s: FROM %s: %s", s.Name, s.BaseName, why)
			}
		}
	})

	for _, target := range dockerTargets {
		t.Run("target "+target, func(t *testing.T) {
			s := d.byName[target]
			if s == nil {
				t.Fatalf("no stage %s", target)
			}
			if base := d.chain(target); base[len(base)-1].BaseName != "scratch" {
				t.Errorf("built FROM %s; the runtime images are FROM scratch", base[len(base)-1].BaseName)
			}

			users := commands[*instructions.UserCommand](d, target)
			if len(users) == 0 {
				t.Fatal("no USER: it would run as root")
			}
			user := users[len(users)-1].User
			uid, gid, _ := strings.Cut(user, ":")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Errorf("USER %s: want a numeric non-root uid (Kubernetes' runAsNonRoot can only check a number)", user)
			}
			if gid != "" {
				if n, err := strconv.Atoi(gid); err != nil || n == 0 {
					t.Errorf("USER %s: want a numeric non-root gid", user)
				}
			}

			entry := commands[*instructions.EntrypointCommand](d, target)
			if len(entry) == 0 || len(entry[len(entry)-1].CmdLine) == 0 || entry[len(entry)-1].PrependShell {
				t.Fatal("want an exec-form ENTRYPOINT (there is no shell)")
			}
			bin := entry[len(entry)-1].CmdLine[0]
			copied := d.copied(target)
			if from, ok := copied[bin]; !ok || path.Base(from) != target {
				t.Errorf("ENTRYPOINT %s: want the %s binary copied there from a build stage, got %q", bin, target, from)
			}

			env := d.env(target)
			checkEnv(t, root, "deploy/Dockerfile target "+target, target, sortedKeys(env))
			if env["CLICKTRAIL_SOURCES"] != "" && !strings.HasPrefix(env["CLICKTRAIL_SOURCES"], "/etc/clicktrail/") {
				t.Errorf("CLICKTRAIL_SOURCES=%s: the manifests mount the sources file in /etc/clicktrail", env["CLICKTRAIL_SOURCES"])
			}

			checks := commands[*instructions.HealthCheckCommand](d, target)
			if len(checks) == 0 {
				t.Fatal("no HEALTHCHECK")
			}
			test := checks[len(checks)-1].Health.Test
			if runsOnce[target] {
				if !slices.Equal(test, []string{"NONE"}) {
					t.Errorf("HEALTHCHECK %v: a one-shot has nothing to probe, want NONE", test)
				}
				return
			}
			if len(test) < 3 || test[0] != "CMD" || test[1] != "/healthcheck" {
				t.Fatalf("HEALTHCHECK %v: want CMD /healthcheck ... (no shell, no curl in the image)", test)
			}
			if from := copied["/healthcheck"]; path.Base(from) != "healthcheck" {
				t.Errorf("HEALTHCHECK runs /healthcheck, which is not copied from a build stage (%q)", from)
			}
			if p := test[len(test)-1]; p != "/readyz" && p != "/healthz" {
				t.Errorf("HEALTHCHECK probes %s, want /readyz or /healthz", p)
			}
			i := slices.Index(test, "-addr-env")
			if i < 0 || i+1 >= len(test) {
				t.Fatalf("HEALTHCHECK %v: want -addr-env with the service's address variable", test)
			}
			addr := env[test[i+1]]
			if addr == "" {
				t.Fatalf("HEALTHCHECK reads %s, which the image does not set", test[i+1])
			}
			port := strconv.Itoa(portOf(t, addr))
			var exposed []string
			for _, e := range commands[*instructions.ExposeCommand](d, target) {
				exposed = append(exposed, e.Ports...)
			}
			if !slices.Contains(exposed, port) && !slices.Contains(exposed, port+"/tcp") {
				t.Errorf("%s=%s but EXPOSE %v", test[i+1], addr, exposed)
			}
		})
	}
}

// goBuild is one `go build` line of a RUN, split as the shell would.
type goBuild struct {
	stage string
	env   []string
	args  []string // after "go"
	out   string   // the -o folder
}

func goBuilds(t *testing.T, d *dockerfile) []goBuild {
	t.Helper()
	var out []goBuild
	for _, s := range d.stages {
		for _, c := range s.Commands {
			run, ok := c.(*instructions.RunCommand)
			if !ok || len(run.CmdLine) != 1 || !strings.Contains(run.CmdLine[0], "go build") {
				continue
			}
			p := shellwords.NewParser()
			words, err := p.Parse(run.CmdLine[0])
			if err != nil || p.Position != -1 {
				t.Fatalf("stage %s: RUN %q: want one plain command (no && ; |), to run it here as written: %v", s.Name, run.CmdLine[0], err)
			}
			b := goBuild{stage: s.Name}
			for len(words) > 0 && envAssignment(words[0]) {
				b.env = append(b.env, words[0])
				words = words[1:]
			}
			if len(words) < 2 || words[0] != "go" || words[1] != "build" {
				t.Fatalf("stage %s: RUN %q: want [VAR=value ...] go build ...", s.Name, run.CmdLine[0])
			}
			b.args = words[1:]
			if i := slices.Index(b.args, "-o"); i >= 0 && i+1 < len(b.args) {
				b.out = b.args[i+1]
			}
			out = append(out, b)
		}
	}
	return out
}

func envAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	return ok && envName.MatchString("CLICKTRAIL_"+name) && strings.ToUpper(name) == name
}

// TestDockerfileBuildsStaticBinaries runs every go build line of deploy/Dockerfile as
// written, into a temporary folder instead of its -o folder, for linux, and checks
// that each binary is static (no program interpreter, no shared library): what a
// FROM scratch image needs. It also checks that each file the images copy from those
// stages is one that the build makes.
func TestDockerfileBuildsStaticBinaries(t *testing.T) {
	root := testenv.Root(t)
	d := parseDockerfile(t, filepath.Join(root, "deploy", "Dockerfile"))
	builds := goBuilds(t, d)
	if len(builds) == 0 {
		t.Fatal("no go build in deploy/Dockerfile")
	}
	made := map[string]bool{}    // "stage:/out/name"
	goStage := map[string]bool{} // stages with a go build
	skipped := map[string]bool{} // stages whose packages do not exist yet
	for _, b := range builds {
		goStage[b.stage] = true
		if !slices.Contains(b.env, "CGO_ENABLED=0") {
			t.Errorf("stage %s: go build without CGO_ENABLED=0: the binary would need libc", b.stage)
		}
		if b.out == "" || !strings.HasSuffix(b.out, "/") {
			t.Fatalf("stage %s: go build -o %q: want a folder (ending in /)", b.stage, b.out)
		}
		for _, a := range b.args {
			if strings.HasPrefix(a, "./") {
				if _, err := os.Stat(filepath.Join(root, a)); err != nil {
					t.Logf("stage %s builds %s, which does not exist (yet): not built here", b.stage, a)
					skipped[b.stage] = true
				}
			}
		}
		if skipped[b.stage] {
			continue
		}
		dir := t.TempDir()
		args := slices.Clone(b.args)
		args[slices.Index(args, "-o")+1] = dir + string(filepath.Separator)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(append(os.Environ(), b.env...), "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("stage %s: go %s: %v\n%s", b.stage, strings.Join(b.args, " "), err, out)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			made[b.stage+":"+path.Join(b.out, e.Name())] = true
			checkStatic(t, filepath.Join(dir, e.Name()))
		}
		t.Logf("stage %s: built %d static binaries", b.stage, len(entries))
	}
	for _, target := range dockerTargets {
		for dst, from := range d.copied(target) {
			stage, _, _ := strings.Cut(from, ":")
			if goStage[stage] && !skipped[stage] && !made[from] {
				t.Errorf("target %s copies %s to %s, which no go build of stage %s makes", target, from, dst, stage)
			}
		}
	}
}

func checkStatic(t *testing.T, file string) {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Fatalf("%s: not an ELF binary: %v", filepath.Base(file), err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: has a program interpreter (dynamically linked)", filepath.Base(file))
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s: needs shared libraries %v (%v)", filepath.Base(file), libs, err)
	}
}
