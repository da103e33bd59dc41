package cluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubecorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/yaml"
)

// Names of the components of Prow's decoration on a real node.
const (
	GCSName        = "gcs"
	DecorationName = "decoration"
)

// decorationDefaults is what the real node takes from the Prow config's
// default decoration config entries: the utility images' names, the buckets
// and the credentials secrets the pods mount.
type decorationDefaults struct {
	UtilityImages map[string]string
	Buckets       []string
	Secrets       []string
}

func readDecorationDefaults(prowConfig string) (decorationDefaults, error) {
	var d decorationDefaults
	if prowConfig == "" {
		return d, errNoProwConfig
	}
	b, err := os.ReadFile(prowConfig)
	if err != nil {
		return d, fmt.Errorf("read the Prow config: %w", err)
	}
	var cfg struct {
		Plank struct {
			Entries []struct {
				Config struct {
					UtilityImages map[string]string `json:"utility_images"`
					GCS           *struct {
						Bucket string `json:"bucket"`
					} `json:"gcs_configuration"`
					GCSCredentialsSecret *string `json:"gcs_credentials_secret"`
				} `json:"config"`
			} `json:"default_decoration_config_entries"`
		} `json:"plank"`
		Presets []struct {
			Volumes []struct {
				Secret *struct {
					SecretName string `json:"secretName"`
				} `json:"secret"`
			} `json:"volumes"`
		} `json:"presets"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return d, fmt.Errorf("%s: %w", prowConfig, err)
	}
	d.UtilityImages = map[string]string{}
	for _, e := range cfg.Plank.Entries {
		for k, v := range e.Config.UtilityImages {
			d.UtilityImages[k] = v
		}
		if e.Config.GCS != nil && e.Config.GCS.Bucket != "" {
			d.Buckets = append(d.Buckets, strings.TrimPrefix(e.Config.GCS.Bucket, "gs://"))
		}
		if s := e.Config.GCSCredentialsSecret; s != nil && *s != "" && !slices.Contains(d.Secrets, *s) {
			d.Secrets = append(d.Secrets, *s)
		}
	}
	// The secrets the config's presets mount get the same stand-in, so
	// that a job using the preset starts: the credentials they hold on a
	// real build cluster (cloud accounts, tokens) have nothing to reach
	// from a cluster with no route off the machine.
	for _, p := range cfg.Presets {
		for _, v := range p.Volumes {
			if v.Secret != nil && v.Secret.SecretName != "" && !slices.Contains(d.Secrets, v.Secret.SecretName) {
				d.Secrets = append(d.Secrets, v.Secret.SecretName)
			}
		}
	}
	return d, nil
}

// configUtilityImages are the utility images the Prow config names, by
// utility.
func configUtilityImages(prowConfig string) (map[string]string, error) {
	d, err := readDecorationDefaults(prowConfig)
	return d.UtilityImages, err
}

func gcsComponent() Component {
	return Component{
		Name: GCSName, Self: true,
		Needs: []string{NodeNetworkName},
		Ports: []string{"http"},
		Setup: func(ctx context.Context, e *Env) error {
			return os.MkdirAll(e.Path(GCSName, "objects"), 0o700)
		},
		Args: func(e *Env) []string {
			port := strconv.Itoa(e.Port(GCSName, "http"))
			args := []string{GCSCommand, "--root=" + e.Path(GCSName, "objects"), "--port=" + port,
				"--external-url=http://" + e.gcsNodeAddr()}
			if d, err := readDecorationDefaults(e.ProwConfig); err == nil {
				for _, b := range d.Buckets {
					args = append(args, "--bucket="+b)
				}
			}
			return args
		},
		Ready: func(ctx context.Context, e *Env) error {
			_, err := httpGet(ctx, e.HTTPClient(false), "http://"+e.Addr(GCSName, "http")+"/storage/v1/b")
			return err
		},
		Endpoint: func(e *Env) string { return "http://" + e.Addr(GCSName, "http") },
	}
}

// fakeServiceAccount is what the pods' GCS credentials secret holds, and
// the secrets the Prow config's presets mount: the uploads go to the
// emulator, which Google's client reaches without credentials, but Prow's
// decoration mounts the secret the config names and its utilities read the
// file.
const fakeServiceAccount = `{"type": "service_account", "project_id": "prowctl-local", "private_key_id": "prowctl", "client_email": "prowctl@prowctl-local.iam.gserviceaccount.com", "client_id": "0", "note": "not a real key: the personal cluster's uploads go to its GCS emulator"}
`

func decorationComponent() Component {
	return Component{
		Name:  DecorationName,
		Needs: []string{ProwJobCRDName},
		Setup: func(ctx context.Context, e *Env) error {
			return eachDecorationSecret(e, func(secrets kubecorev1.SecretInterface, name string) error {
				s := &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					StringData: map[string]string{"service-account.json": fakeServiceAccount},
				}
				_, err := secrets.Create(ctx, s, metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("create secret %s: %w", name, err)
				}
				return nil
			})
		},
		Ready: func(ctx context.Context, e *Env) error {
			return eachDecorationSecret(e, func(secrets kubecorev1.SecretInterface, name string) error {
				_, err := secrets.Get(ctx, name, metav1.GetOptions{})
				return err
			})
		},
		Endpoint: func(e *Env) string {
			d, _ := readDecorationDefaults(e.ProwConfig)
			return "secret " + strings.Join(d.Secrets, ", ")
		},
	}
}

// eachDecorationSecret calls fn for each credentials secret the Prow
// config's default decoration names, with the secrets of the pods'
// namespace.
func eachDecorationSecret(e *Env, fn func(kubecorev1.SecretInterface, string) error) error {
	d, err := readDecorationDefaults(e.ProwConfig)
	if err != nil {
		return err
	}
	ns, err := ReadProwNamespaces(e.ProwConfig)
	if err != nil {
		return err
	}
	kube, err := e.kube()
	if err != nil {
		return err
	}
	for _, name := range d.Secrets {
		if err := fn(kube.CoreV1().Secrets(ns.Pods), name); err != nil {
			return err
		}
	}
	return nil
}
