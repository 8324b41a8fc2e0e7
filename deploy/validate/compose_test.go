package validate

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// loadCompose loads deploy/compose/compose.yaml with the Compose specification's own
// loader: schema validation, interpolation, merge keys, and the consistency checks
// (every service, config and volume a service names exists), every profile enabled.
func loadCompose(t *testing.T, root string) *types.Project {
	t.Helper()
	dir := filepath.Join(root, "deploy", "compose")
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml")}},
		Environment: types.Mapping{},
	}
	p, err := loader.LoadWithContext(context.Background(), details, loader.WithProfiles([]string{"*"}))
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

// The programs of deploy/Dockerfile that the services of compose.yaml build.
var composeBuilt = []string{"provision", "collector", "processor", "archiver", "demo"}

func TestCompose(t *testing.T) {
	root := testenv.Root(t)
	p := loadCompose(t, root)
	df := parseDockerfile(t, filepath.Join(root, "deploy", "Dockerfile"))

	if p.Name != "clicktrail" {
		t.Errorf("project name %q, want clicktrail", p.Name)
	}
	want := append([]string{"pulsar", "s3", "prometheus", "grafana"}, composeBuilt...)
	if got := sortedKeys(p.Services); !slices.Equal(got, sortedKeys(setOf(want))) {
		t.Errorf("services %v, want %v", got, sortedKeys(setOf(want)))
	}

	t.Run("images are pinned", func(t *testing.T) {
		for _, name := range sortedKeys(p.Services) {
			s := p.Services[name]
			if why := checkPinned(s.Image); why != "" {
				t.Errorf("service %s: image %q: %s", name, s.Image, why)
			}
		}
		if img, v := p.Services["pulsar"].Image, localPulsarVersion(t, root); img != "apachepulsar/pulsar:"+v {
			t.Errorf("pulsar image %q, want the official image of the release deploy/local runs, apachepulsar/pulsar:%s", img, v)
		}
		if img, v := p.Services["s3"].Image, localS3Version(t, root); img != "versity/versitygw:"+v {
			t.Errorf("s3 image %q, want the official image of the release deploy/local runs, versity/versitygw:%s", img, v)
		}
	})

	t.Run("the broker and the object store have health checks", func(t *testing.T) {
		for _, name := range []string{"pulsar", "s3"} {
			hc := p.Services[name].HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 {
				t.Errorf("service %s: no health check", name)
			}
		}
	})

	t.Run("provisioning runs once, between the broker and the services", func(t *testing.T) {
		prov := p.Services["provision"]
		if prov.Restart != types.RestartPolicyNo {
			t.Errorf("provision restart %q, want no (a one-shot)", prov.Restart)
		}
		for _, dep := range []string{"pulsar", "s3"} {
			if c := prov.DependsOn[dep].Condition; c != types.ServiceConditionHealthy {
				t.Errorf("provision depends on %s with %q, want %s", dep, c, types.ServiceConditionHealthy)
			}
		}
		for _, name := range []string{"collector", "processor", "archiver"} {
			if c := p.Services[name].DependsOn["provision"].Condition; c != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("%s depends on provision with %q, want %s", name, c, types.ServiceConditionCompletedSuccessfully)
			}
		}
	})

	t.Run("a service waited for as healthy has a health check", func(t *testing.T) {
		for _, name := range sortedKeys(p.Services) {
			for dep, d := range p.Services[name].DependsOn {
				if d.Condition != types.ServiceConditionHealthy {
					continue
				}
				s := p.Services[dep]
				hasCheck := s.HealthCheck != nil && !s.HealthCheck.Disable
				if !hasCheck && s.Build != nil {
					checks := commands[*instructions.HealthCheckCommand](df, s.Build.Target)
					hasCheck = len(checks) > 0 && checks[len(checks)-1].Health.Test[0] == "CMD"
				}
				if !hasCheck {
					t.Errorf("%s waits for %s to be healthy, which has no health check", name, dep)
				}
			}
		}
	})

	for _, name := range composeBuilt {
		t.Run("service "+name, func(t *testing.T) {
			s := p.Services[name]
			if s.Build == nil {
				t.Fatal("no build")
			}
			if got := filepath.Join(s.Build.Context, s.Build.Dockerfile); got != filepath.Join(root, "deploy", "Dockerfile") {
				t.Errorf("builds %s, want deploy/Dockerfile from the module root", got)
			}
			if s.Build.Target != name || df.byName[name] == nil {
				t.Errorf("build target %q, want the Dockerfile's stage %s", s.Build.Target, name)
			}
			if prog := imageProgram(s.Image); prog != name {
				t.Errorf("image %s, want clicktrail/%s", s.Image, name)
			}
			if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
				t.Errorf("want read_only, cap_drop ALL and no-new-privileges; got %v %v %v", s.ReadOnly, s.CapDrop, s.SecurityOpt)
			}
			if uid, _, _ := strings.Cut(s.User, ":"); uid == "" || uid == "0" || uid == "root" {
				t.Errorf("user %q, want a non-root uid", s.User)
			}
			env := map[string]string{}
			for k, v := range df.env(name) {
				env[k] = v
			}
			for k, v := range s.Environment {
				if v != nil {
					env[k] = *v
				}
			}
			checkEnv(t, root, "compose service "+name, name, sortedKeys(s.Environment))

			for k, v := range env {
				if !strings.HasSuffix(k, "_ADDR") || !strings.HasPrefix(k, "CLICKTRAIL_") {
					continue
				}
				port := uint32(portOf(t, v))
				if !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool {
					return pc.Target == port
				}) {
					t.Errorf("%s=%s, but no published port targets %d", k, v, port)
				}
			}
			for _, pc := range s.Ports {
				if pc.HostIP != "127.0.0.1" {
					t.Errorf("port %d published on %q, want 127.0.0.1 only", pc.Target, pc.HostIP)
				}
			}
			if src := env["CLICKTRAIL_SOURCES"]; src != "" && name != "demo" {
				if !slices.ContainsFunc(s.Configs, func(c types.ServiceConfigObjConfig) bool { return c.Target == src }) {
					t.Errorf("CLICKTRAIL_SOURCES=%s, but no config is mounted there", src)
				}
			}
		})
	}

	t.Run("config files exist and the sources load", func(t *testing.T) {
		for name, c := range p.Configs {
			if _, err := os.Stat(c.File); err != nil {
				t.Errorf("config %s: %v", name, err)
			}
		}
		src := p.Configs["sources"].File
		if _, err := sources.Load(src); err != nil {
			t.Errorf("the services cannot load the sources config: %v", err)
		}
	})

	t.Run("the demo site sends to the published collector with an allowed origin", func(t *testing.T) {
		demo := p.Services["demo"]
		env := df.env("demo")
		for k, v := range demo.Environment {
			if v != nil {
				env[k] = *v
			}
		}
		ss, err := sources.Load(p.Configs["sources"].File)
		if err != nil {
			t.Fatal(err)
		}
		key := env["CLICKTRAIL_DEMO_WRITE_KEY"]
		src := ss.ByWriteKey()[key]
		if src == nil {
			t.Fatalf("the demo's write key %q is not in the sources config", key)
		}
		u, err := url.Parse(env["CLICKTRAIL_DEMO_COLLECTOR_URL"])
		if err != nil {
			t.Fatal(err)
		}
		if !publishes(p.Services["collector"], u.Port()) {
			t.Errorf("the demo's pages send to %s, which the collector does not publish", u)
		}
		demoPort := strconv.Itoa(portOf(t, env["CLICKTRAIL_DEMO_ADDR"]))
		if !publishes(demo, demoPort) {
			t.Errorf("the demo site's port %s is not published", demoPort)
		}
		if origin := "http://localhost:" + demoPort; !src.AllowsOrigin(origin) {
			t.Errorf("source %s does not allow the demo's origin %s", src.ID, origin)
		}
	})
}

func publishes(s types.ServiceConfig, port string) bool {
	return slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool { return pc.Published == port })
}

func setOf(items []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range items {
		m[s] = true
	}
	return m
}
