package validate

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// TestManifestChecksCatchMistakes breaks the base build in the ways a manifest edit
// can, one at a time, and expects the checks to name each mistake.
func TestManifestChecksCatchMistakes(t *testing.T) {
	root := testenv.Root(t)
	checks := newClusterChecks(t, root)
	deployment := func(m *manifests, name string) *appsv1.Deployment {
		for _, d := range m.deployments {
			if d.Name == "clicktrail-"+name {
				return d
			}
		}
		t.Fatalf("no deployment %s", name)
		return nil
	}
	container := func(m *manifests, name string) *corev1.Container {
		return &deployment(m, name).Spec.Template.Spec.Containers[0]
	}
	tests := []struct {
		name    string
		breakIt func(m *manifests)
		want    string
	}{
		{"a container without a readiness probe", func(m *manifests) { container(m, "collector").ReadinessProbe = nil }, "no HTTP readiness probe"},
		{"a liveness probe on the readiness endpoint", func(m *manifests) { container(m, "processor").LivenessProbe.HTTPGet.Path = "/readyz" }, "liveness probe on /readyz"},
		{"a probe on a port no container declares", func(m *manifests) {
			container(m, "archiver").ReadinessProbe.HTTPGet.Port = intstr.FromString("metrics")
		}, "which no container declares"},
		{"an image tagged latest", func(m *manifests) { container(m, "collector").Image = "clicktrail/collector:latest" }, "tagged latest"},
		{"an image without a tag", func(m *manifests) { container(m, "processor").Image = "clicktrail/processor" }, "no tag or digest"},
		{"a Service that selects no pods", func(m *manifests) { m.services[0].Spec.Selector["app.kubernetes.io/name"] = "nope" }, "matches 0 Deployments"},
		{"a Service on a port the pods lack", func(m *manifests) { m.services[0].Spec.Ports[0].TargetPort = intstr.FromInt32(9999) }, "targetPort 9999"},
		{"a Secret name with a typo", func(m *manifests) {
			container(m, "archiver").Env[2].ValueFrom.SecretKeyRef.Name = "clicktrail-s4"
		}, "no Secret clicktrail-s4"},
		{"a Secret key with a typo", func(m *manifests) {
			container(m, "archiver").Env[2].ValueFrom.SecretKeyRef.Key = "ACCESS_KEY"
		}, "has no key ACCESS_KEY"},
		{"a setting the program does not read", func(m *manifests) {
			c := container(m, "collector")
			c.Env = append(c.Env, corev1.EnvVar{Name: "CLICKTRAIL_COLLECTOR_ADRR", Value: ":8088"})
		}, "CLICKTRAIL_COLLECTOR_ADRR, which collector does not read"},
		{"a listen address off the container port", func(m *manifests) { container(m, "processor").Env[0].Value = ":9999" }, "CLICKTRAIL_PROCESSOR_ADDR=:9999 is not on a container port"},
		{"a pod allowed to run as root", func(m *manifests) {
			deployment(m, "collector").Spec.Template.Spec.SecurityContext.RunAsNonRoot = ptr.To(false)
		}, "runAsNonRoot"},
		{"a writable root file system", func(m *manifests) {
			container(m, "archiver").SecurityContext.ReadOnlyRootFilesystem = ptr.To(false)
		}, "readOnlyRootFilesystem true"},
		{"no memory limit", func(m *manifests) { delete(container(m, "processor").Resources.Limits, corev1.ResourceMemory) }, "want a memory request and limit"},
		{"a request above its limit", func(m *manifests) {
			container(m, "collector").Resources.Requests[corev1.ResourceCPU] = resource.MustParse("4")
		}, "above its limit"},
		{"replicas set beside an autoscaler", func(m *manifests) { deployment(m, "processor").Spec.Replicas = ptr.To[int32](3) }, "sets replicas"},
		{"a grace period shorter than the shutdown", func(m *manifests) {
			deployment(m, "archiver").Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](10)
		}, "must exceed archiver's shutdown grace"},
		{"the archiver's files on the read-only root", func(m *manifests) {
			c := container(m, "archiver")
			c.VolumeMounts = c.VolumeMounts[:1]
		}, "CLICKTRAIL_ARCHIVER_TMP_DIR=\"/tmp\" is not a writable emptyDir"},
		{"a KEDA trigger on a topic of no source", func(m *manifests) {
			m.scaled[0].Spec.Triggers[0].Metadata["topic"] = "persistent://other/ns/events"
		}, "want one per source namespace"},
		{"a KEDA trigger on the wrong subscription", func(m *manifests) {
			for _, s := range m.scaled {
				if s.Metadata.Name == "clicktrail-archiver" {
					s.Spec.Triggers[0].Metadata["subscription"] = "processor"
				}
			}
		}, "but the archiver reads through \"archiver\""},
		{"a misspelt KEDA setting", func(m *manifests) {
			md := m.scaled[0].Spec.Triggers[0].Metadata
			md["msgBacklogTreshold"] = md["msgBacklogThreshold"]
			delete(md, "msgBacklogThreshold")
		}, "\"msgBacklogTreshold\" is not one KEDA's pulsar scaler reads"},
		{"more archivers than partitions", func(m *manifests) {
			for _, s := range m.scaled {
				if s.Metadata.Name == "clicktrail-archiver" {
					s.Spec.MaxReplicaCount = ptr.To[int32](64)
				}
			}
		}, "above the 4 partitions"},
		{"an HPA that scales something else", func(m *manifests) { m.hpas[0].Spec.ScaleTargetRef.Name = "clicktrail-colector" }, "not a Deployment here"},
		{"a sources file the services refuse", func(m *manifests) {
			for _, s := range m.secrets {
				if strings.HasPrefix(s.Name, "clicktrail-sources") {
					s.Data["sources.yaml"] = []byte("sources:\n  - id: x\n    writeKey: k\n    tenant: t\n    namespace: n\n    ratelimit: {}\n")
				}
			}
		}, "the services cannot load sources.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := kustomizeBuild(t, filesys.MakeFsOnDisk(), filepath.Join(root, "deploy", "k8s", "base"))
			tt.breakIt(m)
			got := checks.check(t, m)
			for _, p := range got {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; got %q", tt.want, got)
		})
	}
}
