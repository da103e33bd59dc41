// Package jobsecret gives a job the Secrets it reads, from local files: the
// Secrets a pod spec needs (env secretKeyRef, envFrom, secret and projected
// volumes), the ones the user gave (--secret NAME[/KEY]=PATH, --secret-file
// FILE.env), and Ensure, which writes the given ones to the job's namespace
// and refuses to start a job whose Secrets are not all there. On a real
// build cluster those Secrets exist only there; on the personal cluster
// they come from the user's machine, and their values are masked in
// everything prowctl prints (pkg/redact's Masker).
package jobsecret

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// LabelGiven marks the Secrets prowctl wrote from local files.
const LabelGiven = "prowctl.dev/secret-from"

// Ref is a Secret, or one key of it, that a pod needs to start.
type Ref struct {
	Secret string `json:"secret"`
	// Key is "" when the pod takes the whole Secret (a volume without
	// items, envFrom): the Secret must exist, with any keys.
	Key string `json:"key,omitempty"`
	// Via says where the pod spec asks for it, for messages.
	Via string `json:"via"`
}

func (r Ref) String() string {
	if r.Key == "" {
		return r.Secret
	}
	return r.Secret + "/" + r.Key
}

// Needed lists what spec needs, in the order the spec names it; optional
// references are left out, as the kubelet starts the pod without them.
func Needed(spec *corev1.PodSpec) []Ref {
	if spec == nil {
		return nil
	}
	var out []Ref
	add := func(r Ref) {
		for _, have := range out {
			if have.Secret == r.Secret && have.Key == r.Key {
				return
			}
		}
		out = append(out, r)
	}
	containers := append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...)
	for i, c := range containers {
		if c.Name == "" && i >= len(spec.InitContainers) {
			// The name Prow's decoration gives a job's unnamed container.
			c.Name = "test"
		}
		for _, e := range c.Env {
			if s := e.ValueFrom; s != nil && s.SecretKeyRef != nil && !isTrue(s.SecretKeyRef.Optional) {
				add(Ref{Secret: s.SecretKeyRef.Name, Key: s.SecretKeyRef.Key, Via: fmt.Sprintf("env %s of container %s", e.Name, c.Name)})
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil && !isTrue(e.SecretRef.Optional) {
				add(Ref{Secret: e.SecretRef.Name, Via: "envFrom of container " + c.Name})
			}
		}
	}
	for _, v := range spec.Volumes {
		via := "volume " + v.Name
		if s := v.Secret; s != nil && !isTrue(s.Optional) {
			secretItems(add, s.SecretName, s.Items, via)
		}
		if p := v.Projected; p != nil {
			for _, src := range p.Sources {
				if s := src.Secret; s != nil && !isTrue(s.Optional) {
					secretItems(add, s.Name, s.Items, via)
				}
			}
		}
	}
	return out
}

func secretItems(add func(Ref), name string, items []corev1.KeyToPath, via string) {
	if len(items) == 0 {
		add(Ref{Secret: name, Via: via})
		return
	}
	for _, it := range items {
		add(Ref{Secret: name, Key: it.Key, Via: via})
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// Given are the Secrets the user gave, by name and key.
type Given struct {
	data map[string]map[string][]byte
}

// Empty says nothing was given.
func (g *Given) Empty() bool { return g == nil || len(g.data) == 0 }

func (g *Given) set(secret, key string, value []byte, where string) error {
	if errs := validation.IsDNS1123Subdomain(secret); len(errs) > 0 {
		return fmt.Errorf("%s: secret name %q: %s", where, secret, errs[0])
	}
	if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
		return fmt.Errorf("%s: key %q of secret %s: %s", where, key, secret, errs[0])
	}
	if g.data == nil {
		g.data = map[string]map[string][]byte{}
	}
	if g.data[secret] == nil {
		g.data[secret] = map[string][]byte{}
	}
	if _, dup := g.data[secret][key]; dup {
		return fmt.Errorf("%s: %s/%s given twice", where, secret, key)
	}
	g.data[secret][key] = value
	return nil
}

// AddFlag reads one --secret NAME[/KEY]=PATH: the file at PATH is the value
// of KEY (default: the file's base name), or, for a directory, each regular
// file in it is a key, as kubectl's --from-file does.
func (g *Given) AddFlag(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("--secret %s: want NAME=PATH or NAME/KEY=PATH", v)
	}
	secret, key, _ := strings.Cut(name, "/")
	where := "--secret " + v
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if !st.IsDir() {
		if key == "" {
			key = filepath.Base(path)
		}
		b, err := yamlpos.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return g.set(secret, key, b, where)
	}
	if key != "" {
		return fmt.Errorf("%s: %s is a directory: give NAME=DIR, its files are the keys", where, path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := yamlpos.ReadFile(filepath.Join(path, e.Name()))
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if err := g.set(secret, e.Name(), b, where); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: no regular file in %s", where, path)
	}
	return nil
}

// AddEnvFile reads a --secret-file: lines NAME/KEY=VALUE, blank lines and
// # comments ignored, a value in single or double quotes taken literally
// (without them); a bad line is an error at file:line.
func (g *Given) AddEnvFile(path string) error {
	b, err := yamlpos.ReadFile(path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), len(b)+1)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, line)
		name, value, ok := strings.Cut(text, "=")
		secret, key, hasKey := strings.Cut(strings.TrimSpace(name), "/")
		if !ok || !hasKey || secret == "" || key == "" {
			return fmt.Errorf("%s: want SECRET/KEY=VALUE", where)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		if err := g.set(secret, key, []byte(value), where); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Values are the given values, for masking.
func (g *Given) Values() [][]byte {
	if g == nil {
		return nil
	}
	var out [][]byte
	for _, name := range slices.Sorted(maps.Keys(g.data)) {
		for _, k := range slices.Sorted(maps.Keys(g.data[name])) {
			out = append(out, g.data[name][k])
		}
	}
	return out
}

// MissingError says a job needs Secrets that are neither on the cluster
// nor given.
type MissingError struct {
	// Who needs them: "job NAME", or the rehearsals.
	Who       string
	Namespace string
	Missing   []Ref
}

func (e *MissingError) Error() string {
	var parts, flags []string
	for _, r := range e.Missing {
		parts = append(parts, r.String()+" ("+r.Via+")")
		if r.Key != "" {
			flags = append(flags, fmt.Sprintf("--secret %s/%s=FILE", r.Secret, r.Key))
		} else {
			flags = append(flags, fmt.Sprintf("--secret %s/KEY=FILE", r.Secret))
		}
	}
	slices.Sort(flags)
	flags = slices.Compact(flags)
	return fmt.Sprintf("%s needs secrets that are not in namespace %s: %s; give them with %s (or --secret-file FILE.env of SECRET/KEY=VALUE lines)",
		e.Who, e.Namespace, strings.Join(parts, ", "), strings.Join(flags, " "))
}

// ExitCode is 2: the job did not start, for want of an argument.
func (e *MissingError) ExitCode() int { return 2 }

// Ensure checks that every Ref of need is given or already in namespace
// ns, then writes the given Secrets there (replacing what a Secret of that
// name held: the local files are the truth for a local run). When some are
// missing, it writes nothing and says so in a *MissingError for who (a
// job, "job NAME").
func Ensure(ctx context.Context, kube kubernetes.Interface, ns, who string, need []Ref, g *Given) error {
	secrets := kube.CoreV1().Secrets(ns)
	var missing []Ref
	for _, r := range need {
		if g != nil {
			if keys, ok := g.data[r.Secret]; ok {
				if _, ok := keys[r.Key]; ok || r.Key == "" {
					continue
				}
				// Given, but not this key: what was given replaces the
				// Secret, so the key would be gone.
				missing = append(missing, r)
				continue
			}
		}
		s, err := secrets.Get(ctx, r.Secret, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			missing = append(missing, r)
			continue
		}
		if err != nil {
			return fmt.Errorf("secret %s in namespace %s: %w", r.Secret, ns, err)
		}
		if _, ok := s.Data[r.Key]; r.Key != "" && !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return &MissingError{Who: who, Namespace: ns, Missing: missing}
	}
	if g == nil {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(g.data)) {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{LabelGiven: "local"}},
			Type:       corev1.SecretTypeOpaque,
			Data:       g.data[name],
		}
		_, err := secrets.Create(ctx, s, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			var old *corev1.Secret
			if old, err = secrets.Get(ctx, name, metav1.GetOptions{}); err == nil {
				s.ResourceVersion = old.ResourceVersion
				_, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
			}
		}
		if err != nil {
			// Never the values: the name is enough.
			return fmt.Errorf("write secret %s in namespace %s: %w", name, ns, err)
		}
	}
	return nil
}
