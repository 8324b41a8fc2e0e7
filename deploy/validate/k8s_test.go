package validate

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/clicktrail/clicktrail/archiver"
	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/processor"
	"github.com/clicktrail/clicktrail/schemas"
)

// clusterChecks holds what the invariants compare the manifests with.
type clusterChecks struct {
	// env returns the CLICKTRAIL_* variables a program reads.
	env func(program string) map[string]bool
	// grace is each long-running program's default shutdown grace.
	grace map[string]time.Duration
	// subscription is the Pulsar subscription each scaled program reads events with.
	subscription map[string]string
}

func newClusterChecks(t *testing.T, root string) clusterChecks {
	t.Helper()
	envs := map[string]map[string]bool{}
	for p := range programDirs {
		if _, err := os.Stat(filepath.Join(root, programDirs[p][0])); err == nil {
			envs[p] = knownEnv(t, root, p)
		}
	}
	return clusterChecks{
		env: func(p string) map[string]bool { return envs[p] },
		grace: map[string]time.Duration{
			"collector": collector.DefaultConfig().ShutdownGrace,
			"processor": processor.DefaultConfig().ShutdownGrace,
			"archiver":  archiver.DefaultConfig().ShutdownGrace,
		},
		subscription: map[string]string{
			"processor": schemas.SubscriptionProcessor,
			"archiver":  schemas.SubscriptionArchiver,
		},
	}
}

// problems collects what is wrong with a build.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// check returns every broken invariant of a kustomize build.
func (c clusterChecks) check(t *testing.T, m *manifests) problems {
	t.Helper()
	var p problems
	config := map[string]string{} // the ConfigMap every program reads (merged)
	for _, cm := range m.configMaps {
		for k, v := range cm.Data {
			config[k] = v
		}
	}
	programs := map[string]bool{}
	for _, d := range m.deployments {
		c.checkPod(t, &p, "Deployment "+d.Name, d.Spec.Template.Spec, m, config, true)
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			p.addf("Deployment %s: selector %v does not select its own pods (%v)", d.Name, d.Spec.Selector, err)
		}
		prog := programOf(d.Spec.Template.Spec)
		programs[prog] = true
		if g := c.grace[prog]; d.Spec.Template.Spec.TerminationGracePeriodSeconds == nil ||
			time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds)*time.Second <= g {
			p.addf("Deployment %s: terminationGracePeriodSeconds must exceed %s's shutdown grace (%s)", d.Name, prog, g)
		}
		if port := d.Spec.Template.Annotations["prometheus.io/port"]; port == "" || !hasContainerPort(d.Spec.Template.Spec, intstr.Parse(port)) {
			p.addf("Deployment %s: prometheus.io/port %q is not a container port", d.Name, port)
		}
		autoscalers := 0
		for _, h := range m.hpas {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name {
				autoscalers++
			}
		}
		for _, s := range m.scaled {
			if s.Spec.ScaleTargetRef.Name == d.Name {
				autoscalers++
			}
		}
		if autoscalers != 1 {
			p.addf("Deployment %s: %d autoscalers (HorizontalPodAutoscaler or ScaledObject), want exactly one", d.Name, autoscalers)
		}
		if d.Spec.Replicas != nil {
			p.addf("Deployment %s: sets replicas, which its autoscaler owns (an apply would reset the count)", d.Name)
		}
		pdbs := 0
		for _, b := range m.pdbs {
			if sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector); err == nil && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				pdbs++
			}
		}
		if pdbs != 1 {
			p.addf("Deployment %s: %d PodDisruptionBudgets select its pods, want one", d.Name, pdbs)
		}
	}
	for _, want := range []string{"collector", "processor", "archiver"} {
		if !programs[want] {
			p.addf("no Deployment runs the %s", want)
		}
	}
	if len(m.jobs) != 1 || programOf(m.jobs[0].Spec.Template.Spec) != "provision" {
		p.addf("want one Job, running provision; got %d", len(m.jobs))
	}
	for _, j := range m.jobs {
		c.checkPod(t, &p, "Job "+j.Name, j.Spec.Template.Spec, m, config, false)
		if rp := j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
			p.addf("Job %s: restartPolicy %q", j.Name, rp)
		}
	}

	for _, s := range m.services {
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var pods []corev1.PodSpec
		for _, d := range m.deployments {
			if len(s.Spec.Selector) > 0 && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				pods = append(pods, d.Spec.Template.Spec)
			}
		}
		if len(pods) != 1 {
			p.addf("Service %s: selector %v matches %d Deployments' pods, want one", s.Name, s.Spec.Selector, len(pods))
			continue
		}
		for _, port := range s.Spec.Ports {
			if !hasContainerPort(pods[0], port.TargetPort) {
				p.addf("Service %s: targetPort %s is not a port of the pods it selects", s.Name, port.TargetPort.String())
			}
		}
	}

	for _, b := range m.pdbs {
		if (b.Spec.MaxUnavailable == nil) == (b.Spec.MinAvailable == nil) {
			p.addf("PodDisruptionBudget %s: set one of maxUnavailable and minAvailable", b.Name)
		}
		if b.Spec.MaxUnavailable != nil && b.Spec.MaxUnavailable.Type == intstr.Int && b.Spec.MaxUnavailable.IntVal < 1 {
			p.addf("PodDisruptionBudget %s: maxUnavailable %d blocks every drain", b.Name, b.Spec.MaxUnavailable.IntVal)
		}
	}

	for _, h := range m.hpas {
		if !slices.ContainsFunc(m.deployments, func(d *appsv1.Deployment) bool { return d.Name == h.Spec.ScaleTargetRef.Name }) {
			p.addf("HorizontalPodAutoscaler %s: scales %s, which is not a Deployment here", h.Name, h.Spec.ScaleTargetRef.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			p.addf("HorizontalPodAutoscaler %s: want 2 <= minReplicas <= maxReplicas (ingest must survive one pod)", h.Name)
		}
		cpu := slices.ContainsFunc(h.Spec.Metrics, func(ms autoscalingv2.MetricSpec) bool {
			return ms.Resource != nil && ms.Resource.Name == corev1.ResourceCPU && ms.Resource.Target.AverageUtilization != nil &&
				*ms.Resource.Target.AverageUtilization > 0 && *ms.Resource.Target.AverageUtilization <= 100
		})
		if !cpu {
			p.addf("HorizontalPodAutoscaler %s: no CPU utilization target in (0, 100]", h.Name)
		}
	}

	c.checkScaledObjects(t, &p, m, config)

	for _, sm := range m.monitors {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			p.addf("ServiceMonitor %s: %v", sm.Metadata.Name, err)
			continue
		}
		matched := 0
		for _, s := range m.services {
			if !sel.Matches(labels.Set(s.Labels)) {
				continue
			}
			matched++
			for _, e := range sm.Spec.Endpoints {
				if !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == e.Port }) {
					p.addf("ServiceMonitor %s: Service %s has no port named %q", sm.Metadata.Name, s.Name, e.Port)
				}
			}
			if sm.Spec.JobLabel != "" && s.Labels[sm.Spec.JobLabel] != "clicktrail" {
				p.addf("ServiceMonitor %s: Service %s's %s label is %q; the dashboard reads job=\"clicktrail\"", sm.Metadata.Name, s.Name, sm.Spec.JobLabel, s.Labels[sm.Spec.JobLabel])
			}
		}
		if matched < 3 {
			p.addf("ServiceMonitor %s: selects %d Services, want the collector's, processor's and archiver's", sm.Metadata.Name, matched)
		}
	}

	for _, ns := range m.namespaces {
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			p.addf("Namespace %s: want the restricted Pod Security Standard enforced", ns.Name)
		}
	}
	for _, name := range m.names() {
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			p.addf("name %q: %v", name, errs)
		}
	}
	return p
}

// checkPod checks one pod template: images, probes, resources, security, settings
// and every Secret and ConfigMap it refers to.
func (c clusterChecks) checkPod(t *testing.T, p *problems, where string, pod corev1.PodSpec, m *manifests, config map[string]string, service bool) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		p.addf("%s: want the pod's securityContext to set runAsNonRoot and seccompProfile RuntimeDefault", where)
	}
	if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		p.addf("%s: runAsUser 0", where)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		p.addf("%s: mounts a service account token it does not use", where)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.Secret != nil && m.secret(v.Secret.SecretName) == nil {
			p.addf("%s: volume %s: no Secret %s", where, v.Name, v.Secret.SecretName)
		}
	}
	for _, ct := range pod.Containers {
		cw := where + " container " + ct.Name
		if why := checkPinned(ct.Image); why != "" {
			p.addf("%s: image %s: %s", cw, ct.Image, why)
		}
		prog := imageProgram(ct.Image)
		if c.env(prog) == nil {
			p.addf("%s: image %s is none of Clicktrail's programs", cw, ct.Image)
			continue
		}
		if service {
			checkProbe(p, cw, "readiness", ct.ReadinessProbe, "/readyz", pod)
			checkProbe(p, cw, "liveness", ct.LivenessProbe, "/healthz", pod)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := ct.Resources.Requests[r]
			lim, hasLim := ct.Resources.Limits[r]
			switch {
			case !hasReq || !hasLim:
				p.addf("%s: want a %s request and limit", cw, r)
			case req.Cmp(lim) > 0:
				p.addf("%s: %s request %s above its limit %s", cw, r, req.String(), lim.String())
			case req.Cmp(resource.MustParse("0")) <= 0:
				p.addf("%s: %s request %s", cw, r, req.String())
			}
		}
		cs := ct.SecurityContext
		if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
			cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
			cs.Capabilities == nil || !slices.Contains(cs.Capabilities.Drop, "ALL") || len(cs.Capabilities.Add) > 0 {
			p.addf("%s: want allowPrivilegeEscalation false, readOnlyRootFilesystem true and capabilities drop ALL", cw)
		}
		if cs != nil && cs.RunAsNonRoot != nil && !*cs.RunAsNonRoot || cs != nil && cs.RunAsUser != nil && *cs.RunAsUser == 0 {
			p.addf("%s: runs as root", cw)
		}

		// The settings the container sees: the ConfigMaps it imports, then its env.
		env := map[string]string{}
		for _, ef := range ct.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				cm := m.configMap(ef.ConfigMapRef.Name)
				if cm == nil {
					p.addf("%s: envFrom: no ConfigMap %s", cw, ef.ConfigMapRef.Name)
					continue
				}
				for k, v := range cm.Data {
					env[k] = v
					if strings.HasPrefix(k, "CLICKTRAIL_") && !c.anyReads(k) {
						p.addf("ConfigMap %s: %s is read by no program", cm.Name, k)
					}
				}
			case ef.SecretRef != nil:
				if m.secret(ef.SecretRef.Name) == nil {
					p.addf("%s: envFrom: no Secret %s", cw, ef.SecretRef.Name)
				}
			}
		}
		for _, e := range ct.Env {
			env[e.Name] = e.Value
			if strings.HasPrefix(e.Name, "CLICKTRAIL_") && !c.env(prog)[e.Name] {
				p.addf("%s: sets %s, which %s does not read", cw, e.Name, prog)
			}
			if e.ValueFrom == nil {
				continue
			}
			if ref := e.ValueFrom.SecretKeyRef; ref != nil {
				s := m.secret(ref.Name)
				if s == nil {
					p.addf("%s: %s: no Secret %s", cw, e.Name, ref.Name)
				} else if _, ok := s.Data[ref.Key]; !ok {
					p.addf("%s: %s: Secret %s has no key %s", cw, e.Name, ref.Name, ref.Key)
				}
			}
			if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
				if cm := m.configMap(ref.Name); cm == nil || cm.Data[ref.Key] == "" {
					p.addf("%s: %s: no ConfigMap %s with key %s", cw, e.Name, ref.Name, ref.Key)
				}
			}
		}
		for k, v := range env {
			if strings.HasPrefix(k, "CLICKTRAIL_") && strings.HasSuffix(k, "_ADDR") {
				if _, port, err := splitAddr(v); err != nil || !hasContainerPort(pod, intstr.FromInt32(port)) {
					p.addf("%s: %s=%s is not on a container port", cw, k, v)
				}
			}
		}

		mounts := map[string]corev1.VolumeMount{}
		for _, vm := range ct.VolumeMounts {
			mounts[vm.MountPath] = vm
			if _, ok := volumes[vm.Name]; !ok {
				p.addf("%s: mounts volume %s, which the pod does not have", cw, vm.Name)
			}
		}
		// The sources file: a key of a mounted Secret, loadable by the services.
		if src := env["CLICKTRAIL_SOURCES"]; prog != "demo" {
			vm, ok := mounts[path.Dir(src)]
			v := volumes[vm.Name]
			if src == "" || !ok || v.Secret == nil {
				p.addf("%s: CLICKTRAIL_SOURCES=%q is not in a mounted Secret", cw, src)
			} else if s := m.secret(v.Secret.SecretName); s != nil {
				if _, ok := s.Data[path.Base(src)]; !ok {
					p.addf("%s: Secret %s has no key %s", cw, s.Name, path.Base(src))
				}
			}
		}
		// The archiver's files in progress: a writable volume, the root being read-only.
		if prog == "archiver" {
			dir := env["CLICKTRAIL_ARCHIVER_TMP_DIR"]
			if vm, ok := mounts[dir]; dir == "" || !ok || vm.ReadOnly || volumes[vm.Name].EmptyDir == nil {
				p.addf("%s: CLICKTRAIL_ARCHIVER_TMP_DIR=%q is not a writable emptyDir", cw, dir)
			}
		}
	}
}

func checkProbe(p *problems, where, kind string, pr *corev1.Probe, wantPath string, pod corev1.PodSpec) {
	if pr == nil || pr.HTTPGet == nil {
		p.addf("%s: no HTTP %s probe", where, kind)
		return
	}
	if pr.HTTPGet.Path != wantPath {
		p.addf("%s: %s probe on %s, want %s", where, kind, pr.HTTPGet.Path, wantPath)
	}
	if !hasContainerPort(pod, pr.HTTPGet.Port) {
		p.addf("%s: %s probe on port %s, which no container declares", where, kind, pr.HTTPGet.Port.String())
	}
}

// checkScaledObjects checks KEDA's triggers against the sources they must follow.
func (c clusterChecks) checkScaledObjects(t *testing.T, p *problems, m *manifests, config map[string]string) {
	t.Helper()
	required := []string{"adminURL", "topic", "subscription", "msgBacklogThreshold"}
	allowed := append([]string{"isPartitionedTopic", "activationMsgBacklogThreshold", "authModes"}, required...)
	partitions, _ := strconv.Atoi(config["CLICKTRAIL_EVENTS_PARTITIONS"])
	for _, s := range m.scaled {
		where := "ScaledObject " + s.Metadata.Name
		if s.APIVersion != "keda.sh/v1alpha1" {
			p.addf("%s: apiVersion %s", where, s.APIVersion)
		}
		i := slices.IndexFunc(m.deployments, func(d *appsv1.Deployment) bool { return d.Name == s.Spec.ScaleTargetRef.Name })
		if i < 0 || (s.Spec.ScaleTargetRef.Kind != "" && s.Spec.ScaleTargetRef.Kind != "Deployment") {
			p.addf("%s: scales %s, which is not a Deployment here", where, s.Spec.ScaleTargetRef.Name)
			continue
		}
		d := m.deployments[i]
		prog := programOf(d.Spec.Template.Spec)
		min, max := s.Spec.MinReplicaCount, s.Spec.MaxReplicaCount
		if min == nil || max == nil || *min < 1 || *min > *max {
			p.addf("%s: want 1 <= minReplicaCount <= maxReplicaCount (scaling to zero would stop the pipeline)", where)
		}
		if prog == "archiver" && max != nil && partitions > 0 && int(*max) > partitions {
			p.addf("%s: maxReplicaCount %d above the %d partitions of events: the extra archivers would only stand by", where, *max, partitions)
		}
		namespaces := c.sourcesOf(t, p, m, d)
		wantTopics := map[string]bool{}
		for _, ns := range namespaces {
			wantTopics[schemas.Topic(ns.Tenant, ns.Namespace, schemas.TopicEvents)] = true
		}
		gotTopics := map[string]bool{}
		for _, tr := range s.Spec.Triggers {
			if tr.Type != "pulsar" {
				p.addf("%s: trigger type %q, want pulsar", where, tr.Type)
				continue
			}
			for _, k := range required {
				if tr.Metadata[k] == "" {
					p.addf("%s: pulsar trigger without %s", where, k)
				}
			}
			for k := range tr.Metadata {
				if !slices.Contains(allowed, k) {
					p.addf("%s: pulsar trigger metadata %q is not one KEDA's pulsar scaler reads", where, k)
				}
			}
			if tr.Metadata["adminURL"] != config["CLICKTRAIL_PULSAR_ADMIN_URL"] {
				p.addf("%s: adminURL %s, but the programs use %s", where, tr.Metadata["adminURL"], config["CLICKTRAIL_PULSAR_ADMIN_URL"])
			}
			if want := c.subscription[prog]; tr.Metadata["subscription"] != want {
				p.addf("%s: subscription %q, but the %s reads through %q", where, tr.Metadata["subscription"], prog, want)
			}
			if tr.Metadata["isPartitionedTopic"] != "true" {
				p.addf("%s: isPartitionedTopic %q: events is partitioned, the backlog is the sum over partitions", where, tr.Metadata["isPartitionedTopic"])
			}
			if n, err := strconv.Atoi(tr.Metadata["msgBacklogThreshold"]); err != nil || n <= 0 {
				p.addf("%s: msgBacklogThreshold %q", where, tr.Metadata["msgBacklogThreshold"])
			}
			gotTopics[tr.Metadata["topic"]] = true
		}
		if !mapsEqual(gotTopics, wantTopics) {
			p.addf("%s: triggers on %v, want one per source namespace: %v", where, sortedKeys(gotTopics), sortedKeys(wantTopics))
		}
	}
}

// sourcesOf loads the sources file a Deployment mounts with the loader of the services
// and provisioning, and returns its namespaces.
func (c clusterChecks) sourcesOf(t *testing.T, p *problems, m *manifests, d *appsv1.Deployment) []sources.Namespace {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		s := m.secret(v.Secret.SecretName)
		if s == nil || s.Data["sources.yaml"] == nil {
			continue
		}
		file := filepath.Join(t.TempDir(), "sources.yaml")
		if err := os.WriteFile(file, s.Data["sources.yaml"], 0o600); err != nil {
			t.Fatal(err)
		}
		ss, err := sources.Load(file)
		if err != nil {
			p.addf("Secret %s: the services cannot load sources.yaml: %v", s.Name, err)
		}
		return ss.Namespaces()
	}
	p.addf("Deployment %s: mounts no Secret with sources.yaml", d.Name)
	return nil
}

func (c clusterChecks) anyReads(name string) bool {
	for p := range programDirs {
		if c.env(p)[name] {
			return true
		}
	}
	return false
}

func (m *manifests) secret(name string) *corev1.Secret {
	for _, s := range m.secrets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (m *manifests) configMap(name string) *corev1.ConfigMap {
	for _, c := range m.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (m *manifests) names() []string {
	var out []string
	for _, d := range m.deployments {
		out = append(out, d.Name)
	}
	for _, s := range m.services {
		out = append(out, s.Name)
	}
	for _, s := range m.secrets {
		out = append(out, s.Name)
	}
	for _, c := range m.configMaps {
		out = append(out, c.Name)
	}
	for _, s := range m.scaled {
		out = append(out, s.Metadata.Name)
	}
	return out
}

// programOf is the program of a pod's first container.
func programOf(pod corev1.PodSpec) string {
	if len(pod.Containers) == 0 {
		return ""
	}
	return imageProgram(pod.Containers[0].Image)
}

func hasContainerPort(pod corev1.PodSpec, port intstr.IntOrString) bool {
	for _, c := range pod.Containers {
		for _, cp := range c.Ports {
			if port.Type == intstr.String && cp.Name == port.StrVal || port.Type == intstr.Int && cp.ContainerPort == port.IntVal {
				return true
			}
		}
	}
	return false
}

func splitAddr(addr string) (string, int32, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", 0, fmt.Errorf("no port in %q", addr)
	}
	n, err := strconv.ParseInt(addr[i+1:], 10, 32)
	return addr[:i], int32(n), err
}

func mapsEqual(a, b map[string]bool) bool {
	return slices.Equal(sortedKeys(a), sortedKeys(b))
}

func TestKubernetesBase(t *testing.T) {
	root := testenv.Root(t)
	m := kustomizeBuild(t, filesys.MakeFsOnDisk(), filepath.Join(root, "deploy", "k8s", "base"))
	for _, problem := range newClusterChecks(t, root).check(t, m) {
		t.Error(problem)
	}
}

func TestKubernetesProduction(t *testing.T) {
	root := testenv.Root(t)
	m := kustomizeBuild(t, productionFS(t, root), "/k8s/overlays/production")
	for _, problem := range newClusterChecks(t, root).check(t, m) {
		t.Error(problem)
	}
	if len(m.namespaces) != 1 || len(m.monitors) != 1 {
		t.Errorf("production: %d Namespaces and %d ServiceMonitors, want one of each", len(m.namespaces), len(m.monitors))
	}
	for _, d := range m.deployments {
		if d.Namespace != "clicktrail" {
			t.Errorf("Deployment %s in namespace %q, want clicktrail", d.Name, d.Namespace)
		}
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
			t.Errorf("Deployment %s: not spread over zones", d.Name)
		}
	}
}
