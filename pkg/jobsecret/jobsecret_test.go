package jobsecret

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func TestNeeded(t *testing.T) {
	yes := true
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Env: []corev1.EnvVar{
			{Name: "A", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "init-creds"}, Key: "a"}}},
		}}},
		Containers: []corev1.Container{{
			Name: "test",
			Env: []corev1.EnvVar{
				{Name: "PLAIN", Value: "x"},
				{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "api"}, Key: "token"}}},
				{Name: "MAYBE", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "opt"}, Key: "k", Optional: &yes}}},
				{Name: "TOKEN_AGAIN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "api"}, Key: "token"}}},
			},
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "all-env"}}}},
		}},
		Volumes: []corev1.Volume{
			{Name: "sa", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "service-account"}}},
			{Name: "picked", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "ssh", Items: []corev1.KeyToPath{{Key: "id_rsa", Path: "key"}}}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "proj-secret"}}}}}}},
			{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
	want := []Ref{
		{Secret: "init-creds", Key: "a", Via: "env A of container init"},
		{Secret: "api", Key: "token", Via: "env TOKEN of container test"},
		{Secret: "all-env", Via: "envFrom of container test"},
		{Secret: "service-account", Via: "volume sa"},
		{Secret: "ssh", Key: "id_rsa", Via: "volume picked"},
		{Secret: "proj-secret", Via: "volume proj"},
	}
	if diff := cmp.Diff(want, Needed(spec)); diff != "" {
		t.Errorf("Needed (-want +got):\n%s", diff)
	}
	if Needed(nil) != nil {
		t.Error("Needed(nil) is not empty")
	}
}

func TestGiven(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token := write("token.txt", "t0ken")
	write("ssh/id_rsa", "KEY")
	write("ssh/id_rsa.pub", "PUB")
	env := write("secrets.env", "# creds\n\napi/user = alice\napi/password=\"p w\"\n")
	bad := write("bad.env", "api/user=alice\nJUST_A_VAR=1\n")

	var g Given
	for _, f := range []string{"api/token=" + token, "tokfile=" + token, "ssh=" + filepath.Join(dir, "ssh")} {
		if err := g.AddFlag(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.AddEnvFile(env); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string][]byte{
		"api":     {"token": []byte("t0ken"), "user": []byte("alice"), "password": []byte("p w")},
		"tokfile": {"token.txt": []byte("t0ken")},
		"ssh":     {"id_rsa": []byte("KEY"), "id_rsa.pub": []byte("PUB")},
	}
	if diff := cmp.Diff(want, g.data); diff != "" {
		t.Errorf("given (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		flag, envFile, want string
	}{
		{flag: "api", want: "--secret api: want NAME=PATH or NAME/KEY=PATH"},
		{flag: "api/token=" + token, want: "api/token given twice"},
		{flag: "Bad_Name=" + token, want: `secret name "Bad_Name"`},
		{flag: "x=" + filepath.Join(dir, "nope"), want: "no such file or directory"},
		{flag: "x/k=" + filepath.Join(dir, "ssh"), want: "is a directory: give NAME=DIR"},
		{envFile: bad, want: bad + ":2: want SECRET/KEY=VALUE"},
	} {
		var err error
		g2 := Given{data: map[string]map[string][]byte{"api": {"token": nil}}}
		if tc.flag != "" {
			err = g2.AddFlag(tc.flag)
		} else {
			err = g2.AddEnvFile(tc.envFile)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s%s: err %v, want %q", tc.flag, tc.envFile, err, tc.want)
		}
	}
}

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	need := []Ref{
		{Secret: "api", Key: "token", Via: "env TOKEN of container test"},
		{Secret: "service-account", Via: "volume sa"},
		{Secret: "cluster-made", Key: "service-account.json", Via: "volume gcs"},
	}
	existing := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cluster-made", Namespace: "test-pods"}, Data: map[string][]byte{"service-account.json": []byte("{}")}}

	t.Run("missing", func(t *testing.T) {
		kube := kubefake.NewSimpleClientset(existing)
		g := &Given{data: map[string]map[string][]byte{"api": {"user": []byte("alice")}}}
		err := Ensure(ctx, kube, "test-pods", "job pull-x", need, g)
		var me *MissingError
		if !errors.As(err, &me) || me.ExitCode() != 2 {
			t.Fatalf("err %v, want a *MissingError", err)
		}
		want := "job pull-x needs secrets that are not in namespace test-pods: api/token (env TOKEN of container test), service-account (volume sa); give them with --secret api/token=FILE --secret service-account/KEY=FILE (or --secret-file FILE.env of SECRET/KEY=VALUE lines)"
		if err.Error() != want {
			t.Errorf("err\n%s\nwant\n%s", err, want)
		}
		if strings.Contains(err.Error(), "alice") {
			t.Error("a value in the error")
		}
		// Nothing was written before the check failed.
		l, _ := kube.CoreV1().Secrets("test-pods").List(ctx, metav1.ListOptions{})
		if len(l.Items) != 1 {
			t.Errorf("%d secrets, want the cluster's one alone", len(l.Items))
		}
	})

	t.Run("given and replaced", func(t *testing.T) {
		old := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "service-account", Namespace: "test-pods"}, Data: map[string][]byte{"service-account.json": []byte("fake")}}
		kube := kubefake.NewSimpleClientset(existing, old)
		g := &Given{data: map[string]map[string][]byte{
			"api":             {"token": []byte("t0ken")},
			"service-account": {"key.json": []byte("real")},
		}}
		if err := Ensure(ctx, kube, "test-pods", "job pull-x", need, g); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string]map[string][]byte{"api": {"token": []byte("t0ken")}, "service-account": {"key.json": []byte("real")}} {
			s, err := kube.CoreV1().Secrets("test-pods").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(data, s.Data); diff != "" || s.Labels[LabelGiven] != "local" {
				t.Errorf("%s: labels %v, data (-want +got):\n%s", name, s.Labels, diff)
			}
		}
	})
}
