package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/atomicfile"
	"github.com/prowctl/prowctl/pkg/deckproxy"
)

// Prow's UI on a real node: Deck, unmodified, inside the cluster's
// namespace, and prowctl's proxy in front of it on the host's 127.0.0.1
// (pkg/deckproxy), which also serves what Deck's pages take from CDNs.
//
// Deck listens on :8080 and its lens server on 127.0.0.1:1234, with no flag
// for either: inside the namespace both are the cluster's own, so two
// clusters run side by side, and only the proxy's port reaches the host.
const (
	DeckName         = "deck"
	DeckProxyName    = "deck-proxy"
	ServedConfigName = "prow-config"
)

// deckPort is Deck's HTTP port, fixed in Deck.
const deckPort = 8080

// DeckProxyCommand --netns=PATH --port=N --deck=ADDR --gcs=ADDR --assets=DIR:
// Deck's proxy (pkg/deckproxy).
const DeckProxyCommand = "__prowctl-deck-proxy"

// WithoutDeck drops Deck and its proxy from a real node's components
// (`cluster up --no-deck`); plank's job URLs then stay the config's.
func WithoutDeck(components []Component) []Component {
	drop := map[string]bool{DeckName: true, DeckProxyName: true}
	var out []Component
	for _, c := range components {
		if drop[c.Name] {
			continue
		}
		var needs []string
		for _, n := range c.Needs {
			if !drop[n] {
				needs = append(needs, n)
			}
		}
		c.Needs = needs
		out = append(out, c)
	}
	return out
}

// servedConfigComponent writes the Prow config plank and Deck load: the
// user's, with job URLs at the local Deck (when the cluster has one) and
// Spyglass' usual lenses if the config names none. It is read once, at up:
// an edit of the user's config takes a new `cluster up`.
func servedConfigComponent() Component {
	return Component{
		Name:  ServedConfigName,
		Needs: []string{DeckProxyName},
		Setup: func(ctx context.Context, e *Env) error {
			if e.ProwConfig == "" {
				return errNoProwConfig
			}
			b, err := os.ReadFile(e.ProwConfig)
			if err != nil {
				return fmt.Errorf("the Prow config: %w", err)
			}
			served, err := serveConfig(b, e.Port(DeckProxyName, "http"))
			if err != nil {
				return fmt.Errorf("%s: %w", e.ProwConfig, err)
			}
			if err := os.MkdirAll(e.Path(ServedConfigName), 0o755); err != nil {
				return err
			}
			return atomicfile.Write(e.servedConfig(), served, 0o644)
		},
		// Healthy while plank and Deck can read it.
		Ready: func(ctx context.Context, e *Env) error {
			_, err := os.Stat(e.servedConfig())
			return err
		},
		Endpoint: func(e *Env) string { return e.servedConfig() },
	}
}

// gcsNodeAddr is the GCS emulator's address for its clients in the
// namespace (pods, Deck): the node's, not 127.0.0.1, because the emulator
// serves objects at HOST/BUCKET/OBJECT only for the host it was given as
// public (serveGCS). Listing works with any host, so a client given another
// one finds every object missing.
func (e *Env) gcsNodeAddr() string {
	return net.JoinHostPort(nodeIP, strconv.Itoa(e.Port(GCSName, "http")))
}

// servedConfig is the Prow config plank and Deck load on a real node.
func (e *Env) servedConfig() string { return e.Path(ServedConfigName, "config.yaml") }

// defaultLenses are Spyglass' lenses for what Prow's utilities upload.
var defaultLenses = []any{
	map[string]any{"lens": map[string]any{"name": "metadata"}, "required_files": []any{`^(?:started|finished)\.json$`}, "optional_files": []any{`^(?:podinfo|prowjob)\.json$`}},
	map[string]any{"lens": map[string]any{"name": "buildlog"}, "required_files": []any{`^build-log\.txt$`}},
	map[string]any{"lens": map[string]any{"name": "junit"}, "required_files": []any{`^artifacts/.*junit.*\.xml$`}},
	map[string]any{"lens": map[string]any{"name": "podinfo"}, "required_files": []any{`^podinfo\.json$`}},
}

// serveConfig returns config with plank's job URLs at Deck's proxy on
// deckPort (none: left as they are) and the default lenses if it has none.
func serveConfig(config []byte, deckPort int) ([]byte, error) {
	var c map[string]any
	if err := yaml.Unmarshal(config, &c); err != nil {
		return nil, err
	}
	if c == nil {
		c = map[string]any{}
	}
	section := func(parent map[string]any, key string) (map[string]any, error) {
		v, ok := parent[key]
		if !ok || v == nil {
			m := map[string]any{}
			parent[key] = m
			return m, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not a mapping", key)
		}
		return m, nil
	}
	if deckPort != 0 {
		plank, err := section(c, "plank")
		if err != nil {
			return nil, err
		}
		plank["job_url_prefix_config"] = map[string]any{"*": "http://127.0.0.1:" + strconv.Itoa(deckPort) + "/view/"}
	}
	deck, err := section(c, "deck")
	if err != nil {
		return nil, err
	}
	spyglass, err := section(deck, "spyglass")
	if err != nil {
		return nil, err
	}
	if lenses, _ := spyglass["lenses"].([]any); len(lenses) == 0 {
		spyglass["lenses"] = defaultLenses
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	return append([]byte("# Written by prowctl cluster up from the Prow config: see pkg/cluster/deck.go.\n"), out...), nil
}

func deckComponent() Component {
	ui := func(e *Env, dir string) string { return DeckUI.Dir(e.ToolsDir) + "/kodata/" + dir }
	return Component{
		Name: DeckName, Tool: Prow, Binary: "deck",
		Needs: []string{ServedConfigName, ProwJobCRDName, GCSName},
		Ports: []string{"health", "metrics", "pprof"},
		Setup: func(ctx context.Context, e *Env) error {
			cfg, err := e.Rest()
			if err != nil {
				return err
			}
			// As plank's: one context, "default".
			return writeKubeconfigFromRest(e.Path(DeckName, "kubeconfig"), "default", cfg)
		},
		Args: func(e *Env) []string {
			return []string{
				"--config-path=" + e.servedConfig(),
				"--kubeconfig=" + e.Path(DeckName, "kubeconfig"),
				"--spyglass",
				"--static-files-location=" + ui(e, "static"),
				"--template-files-location=" + ui(e, "template"),
				"--spyglass-files-location=" + ui(e, "lenses"),
				"--health-port=" + strconv.Itoa(e.Port(DeckName, "health")),
				"--metrics-port=" + strconv.Itoa(e.Port(DeckName, "metrics")),
				"--pprof-port=" + strconv.Itoa(e.Port(DeckName, "pprof")),
			}
		},
		// Deck's GCS client honours the emulator's address; it needs no
		// credentials then.
		Environ: func(e *Env) []string {
			return []string{"STORAGE_EMULATOR_HOST=http://" + e.gcsNodeAddr()}
		},
		Ready: func(ctx context.Context, e *Env) error {
			if err := prowHealthReady(ctx, e, DeckName); err != nil {
				return err
			}
			_, err := httpGet(ctx, e.HTTPClient(false), "http://"+deckAddr+"/")
			return err
		},
		Endpoint: func(e *Env) string { return "http://" + deckAddr + "/" },
	}
}

var deckAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(deckPort))

func deckProxyComponent() Component {
	return Component{
		Name: DeckProxyName, Self: true,
		// The UI's files are checked before anything starts; Deck reads
		// them too.
		Tool: DeckUI, ToolFiles: []string{"kodata", "assets"},
		Needs: []string{GCSName},
		Ports: []string{"http"},
		Args: func(e *Env) []string {
			return []string{DeckProxyCommand, "--netns=" + e.NS.Net,
				"--port=" + strconv.Itoa(e.Port(DeckProxyName, "http")),
				"--deck=" + deckAddr, "--gcs=" + e.Addr(GCSName, "http"),
				"--assets=" + DeckUI.Dir(e.ToolsDir) + "/assets"}
		},
		Ready: func(ctx context.Context, e *Env) error {
			// On the host: not through the namespace.
			body, err := readyGet(ctx, hostHTTPClient(), "http://"+e.Addr(DeckProxyName, "http")+deckproxy.HealthPath)
			if err != nil {
				return err
			}
			if body != deckproxy.HealthBody {
				return fmt.Errorf("%w: %s answered %.100q", ErrForeignServer, deckproxy.HealthPath, body)
			}
			return nil
		},
		Endpoint: func(e *Env) string { return "http://" + e.Addr(DeckProxyName, "http") + "/ (host: Deck)" },
	}
}
