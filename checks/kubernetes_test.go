package checks_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kubeScheme holds the only kinds the manifests may use: built-in ones that
// every cluster serves.
var kubeScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		autoscalingv2.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// decodeStrict decodes one manifest into its Kubernetes API type, refusing
// unknown and duplicate fields (the API server's strict field validation).
func decodeStrict(doc []byte) (runtime.Object, error) {
	codecs := serializer.NewCodecFactory(kubeScheme, serializer.EnableStrict)
	obj, _, err := codecs.UniversalDeserializer().Decode(doc, nil, nil)
	return obj, err
}

// kustomizeBuild builds dir as `kubectl apply -k` would, and decodes every
// resource strictly.
func kustomizeBuild(dir string) ([]runtime.Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build: %w", err)
	}
	var objs []runtime.Object
	for _, r := range res.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		obj, err := decodeStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// TestKubernetesDecodingIsStrict proves the decoding refuses a field the API
// does not have and a kind no cluster serves without extensions.
func TestKubernetesDecodingIsStrict(t *testing.T) {
	p := projects(t)[0]
	web := string(p.read(t, "deploy/kubernetes/web.yaml"))
	for name, doc := range map[string]string{
		"unknown field":   strings.Replace(web, "  revisionHistoryLimit: 5\n", "  revisionHistoryLimit: 5\n  replica: 3\n", 1),
		"misplaced field": strings.Replace(web, "          readinessProbe:\n", "          readinessProbes:\n", 1),
		"unknown kind":    "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: x\n",
	} {
		if doc == web {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// TestKubernetesManifests builds deploy/kubernetes with kustomize, decodes
// every resource strictly into the Kubernetes API types, and checks what the
// API server would not: selectors that match their pods, probes, ports and
// references that exist, a non-root read-only container with resources, no
// secret value in the repository, and only known environment variables.
func TestKubernetesManifests(t *testing.T) {
	for _, p := range projects(t) {
		t.Run(p.name, func(t *testing.T) {
			objs, err := kustomizeBuild(p.path("deploy/kubernetes"))
			if err != nil {
				t.Fatal(err)
			}
			checkKubernetes(t, p, objs)
		})
	}
}

func checkKubernetes(t *testing.T, p project, objs []runtime.Object) {
	deployments := map[string]*appsv1.Deployment{}
	configMaps := map[string]*corev1.ConfigMap{}
	var pods []*corev1.PodTemplateSpec
	kinds := map[string]int{}
	for _, o := range objs {
		kind := fmt.Sprintf("%T", o)
		kinds[kind]++
		switch v := o.(type) {
		case *appsv1.Deployment:
			deployments[v.Name] = v
			pods = append(pods, &v.Spec.Template)
			sel, err := metaSelector(v.Spec.Selector.MatchLabels)
			if err != nil || !sel.Matches(labels.Set(v.Spec.Template.Labels)) {
				t.Errorf("Deployment %s: its selector does not match its pods' labels", v.Name)
			}
		case *batchv1.Job:
			pods = append(pods, &v.Spec.Template)
			if v.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("Job %s: restartPolicy %q, want Never", v.Name, v.Spec.Template.Spec.RestartPolicy)
			}
			if c := v.Spec.Template.Spec.Containers[0]; !slices.Equal(c.Args, []string{"migrate", "up"}) {
				t.Errorf("Job %s runs %v, want migrate up", v.Name, c.Args)
			}
		case *corev1.ConfigMap:
			configMaps[v.Name] = v
		case *corev1.Secret:
			t.Errorf("Secret %s is in the repository: secrets are created outside it", v.Name)
		}
		if m, ok := o.(interface{ GetName() string }); ok {
			if errs := validation.IsDNS1123Subdomain(m.GetName()); len(errs) > 0 {
				t.Errorf("%s %s: %v", kind, m.GetName(), errs)
			}
		}
	}
	for _, want := range []string{"*v1.Deployment", "*v1.Service", "*v2.HorizontalPodAutoscaler", "*v1.PodDisruptionBudget", "*v1.Job", "*v1.ConfigMap", "*v1.ServiceAccount"} {
		if kinds[want] == 0 {
			t.Errorf("no %s in the build (kinds: %v)", want, kinds)
		}
	}
	web, worker := deployments[p.opts.Name+"-web"], deployments[p.opts.Name+"-worker"]
	if web == nil || worker == nil {
		t.Fatalf("Deployments %s-web and %s-worker missing (have %v)", p.opts.Name, p.opts.Name, deployments)
	}
	if c := web.Spec.Template.Spec.Containers[0]; !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("web runs %v, want serve", c.Args)
	}
	if c := worker.Spec.Template.Spec.Containers[0]; !slices.Equal(c.Args, []string{"worker"}) {
		t.Errorf("worker runs %v, want worker", c.Args)
	}
	webc := web.Spec.Template.Spec.Containers[0]
	for probe, want := range map[*corev1.Probe]string{webc.LivenessProbe: "/livez", webc.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want {
			t.Errorf("web: no HTTP probe on %s", want)
		}
	}
	if worker.Spec.Template.Spec.Containers[0].LivenessProbe == nil {
		t.Error("worker: no liveness probe")
	}

	// The first step of a release applies everything but the workloads
	// (-l 'app.kubernetes.io/component notin (web,worker)'): the migration
	// Job and what it needs must be in that selection, the Deployments not.
	first, err := labels.Parse("app.kubernetes.io/component notin (web,worker)")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		m, ok := o.(interface {
			GetName() string
			GetLabels() map[string]string
		})
		if !ok {
			continue
		}
		_, isDeployment := o.(*appsv1.Deployment)
		_, isJobInput := o.(*batchv1.Job)
		switch o.(type) {
		case *corev1.ConfigMap, *corev1.ServiceAccount:
			isJobInput = true
		}
		if in := first.Matches(labels.Set(m.GetLabels())); isDeployment && in || isJobInput && !in {
			t.Errorf("%s: in the first step of a release (%s) = %v", m.GetName(), first, in)
		}
	}

	known := knownEnv(t, p)
	for _, pod := range pods {
		checkPod(t, pod, configMaps, known)
	}
	checkEnvFile(t, p, "deploy/kubernetes/secret.env.example", known)

	for _, o := range objs {
		switch v := o.(type) {
		case *corev1.Service:
			sel, _ := metaSelector(v.Spec.Selector)
			if !sel.Matches(labels.Set(web.Spec.Template.Labels)) || sel.Matches(labels.Set(worker.Spec.Template.Labels)) {
				t.Errorf("Service %s does not select exactly the web pods", v.Name)
			}
			for _, port := range v.Spec.Ports {
				if !slices.ContainsFunc(webc.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == port.TargetPort.String() }) {
					t.Errorf("Service %s: targetPort %s is no port of the web container", v.Name, port.TargetPort.String())
				}
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			if ref := v.Spec.ScaleTargetRef; ref.Kind != "Deployment" || deployments[ref.Name] == nil {
				t.Errorf("HorizontalPodAutoscaler %s scales %s %s, which the build does not have", v.Name, ref.Kind, ref.Name)
			} else if deployments[ref.Name].Spec.Replicas != nil {
				t.Errorf("Deployment %s sets replicas although HorizontalPodAutoscaler %s scales it: every apply would reset them", ref.Name, v.Name)
			}
			if v.Spec.MinReplicas == nil || *v.Spec.MinReplicas < 2 {
				t.Errorf("HorizontalPodAutoscaler %s: minReplicas below 2 leaves no pod during a disruption", v.Name)
			}
		case *policyv1.PodDisruptionBudget:
			sel, err := metaSelector(v.Spec.Selector.MatchLabels)
			matched := 0
			for _, d := range deployments {
				if err == nil && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
					matched++
				}
			}
			if matched != 1 {
				t.Errorf("PodDisruptionBudget %s selects the pods of %d Deployments, want 1", v.Name, matched)
			}
		}
	}
}

// checkPod checks one pod template: non-root, no token, every container
// read-only with resources and no privilege escalation, probes on declared
// ports, and envFrom references to the generated ConfigMap or the two
// documented Secrets.
func checkPod(t *testing.T, pod *corev1.PodTemplateSpec, configMaps map[string]*corev1.ConfigMap, known map[string]bool) {
	t.Helper()
	name := pod.Labels["app.kubernetes.io/component"]
	spec := pod.Spec
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil {
		t.Errorf("%s: the pod is not runAsNonRoot with a seccomp profile", name)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: a service account token is mounted", name)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s/%s: not read-only, without privilege escalation and with every capability dropped", name, c.Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: CPU and memory requests and a memory limit are required", name, c.Name)
		}
		if !strings.Contains(c.Image, "/") {
			t.Errorf("%s/%s: image %q is not rewritten to a registry by the kustomization", name, c.Name, c.Image)
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
		for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if probe == nil {
				continue
			}
			var port string
			switch {
			case probe.HTTPGet != nil:
				port = probe.HTTPGet.Port.String()
			case probe.TCPSocket != nil:
				port = probe.TCPSocket.Port.String()
			}
			if !ports[port] {
				t.Errorf("%s/%s: a probe uses port %q, which the container does not declare", name, c.Name, port)
			}
		}
		var envNames []string
		for _, e := range c.Env {
			envNames = append(envNames, e.Name)
		}
		for _, ef := range c.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				cm := configMaps[ef.ConfigMapRef.Name]
				if cm == nil {
					t.Errorf("%s/%s: envFrom names ConfigMap %s, which the build does not have", name, c.Name, ef.ConfigMapRef.Name)
					continue
				}
				for k := range cm.Data {
					envNames = append(envNames, k)
				}
			case ef.SecretRef != nil:
				if s := ef.SecretRef.Name; !strings.HasSuffix(s, "-secrets") && !strings.HasSuffix(s, "-migrate") {
					t.Errorf("%s/%s: envFrom names Secret %s, which the README does not tell how to create", name, c.Name, s)
				}
			}
		}
		if bad := unknownEnv(known, envNames); len(bad) > 0 {
			t.Errorf("%s/%s: variables no code reads: %v", name, c.Name, bad)
		}
	}
	if name != "migrate" {
		for _, c := range spec.Containers {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil && strings.HasSuffix(ef.SecretRef.Name, "-migrate") {
					t.Errorf("%s: reads the schema owner's Secret %s", name, ef.SecretRef.Name)
				}
			}
		}
	}
}

// checkEnvFile checks the variables a KEY=value file names are known.
func checkEnvFile(t *testing.T, p project, rel string, known map[string]bool) {
	t.Helper()
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(p.read(t, rel)))
	for sc.Scan() {
		if m := envExampleLine.FindStringSubmatch(sc.Text()); m != nil {
			names = append(names, m[1])
		}
	}
	if len(names) == 0 {
		t.Errorf("%s names no variable", rel)
	}
	if bad := unknownEnv(known, names); len(bad) > 0 {
		t.Errorf("%s: variables no code reads: %v", rel, bad)
	}
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	return labels.SelectorFromSet(m), nil
}

// TestKubernetesBuildCatchesMistakes proves the build fails on a manifest
// with a field the API does not have.
func TestKubernetesBuildCatchesMistakes(t *testing.T) {
	p := projects(t)[0]
	dir := filepath.Join(t.TempDir(), "kubernetes")
	if err := os.CopyFS(dir, os.DirFS(p.path("deploy/kubernetes"))); err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(dir, "web.yaml")
	b, err := os.ReadFile(web)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), "      terminationGracePeriodSeconds: 35\n", "      terminationGracePeriodSeconds: 35\n      terminationGracePeriod: 35\n", 1)
	if broken == string(b) {
		t.Fatal("the replacement did not apply")
	}
	if err := os.WriteFile(web, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kustomizeBuild(dir); err == nil {
		t.Error("a Deployment with an unknown field built and decoded without error")
	}
}
