package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
	"gopkg.in/yaml.v3"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/gcsupload"
	pkgio "sigs.k8s.io/prow/pkg/io"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"
	"sigs.k8s.io/prow/pkg/pod-utils/gcs"
)

// UploadOptions say what to upload where.
type UploadOptions struct {
	// Dest is gs://bucket[/prefix], s3://bucket[/prefix] or a local directory.
	Dest string
	Job  *downwardapi.JobSpec
	// Artifacts is the run's artifacts directory: build-log.txt, started.json
	// and finished.json at its top go next to artifacts/, the rest under it.
	Artifacts string
	// PathStrategy, DefaultOrg, DefaultRepo choose the repo segment of
	// presubmit paths as Prow's decoration config does (default: explicit,
	// or the job's own decoration config).
	PathStrategy, DefaultOrg, DefaultRepo string
	// GCSCredentialsFile, S3CredentialsFile as Prow's gcsupload takes them.
	GCSCredentialsFile, S3CredentialsFile string
	// GCSEndpoint is the address (http://HOST:PORT) of a GCS emulator that
	// gs:// destinations go to; "" is Google's (or $STORAGE_EMULATOR_HOST,
	// which the storage client reads itself).
	GCSEndpoint string
	// Opener overrides the storage client (tests).
	Opener pkgio.Opener
}

// Store says where a run's gs:// uploads go and where they can be seen: the
// personal cluster's GCS emulator and its Deck, or (the zero Store) Google's
// GCS and no Deck.
type Store struct {
	GCSEndpoint string
	// Deck is the address of a Deck whose Spyglass reads GCSEndpoint.
	Deck string
}

// Uploaded is what Upload wrote.
type Uploaded struct {
	// Bucket is gs://NAME, s3://NAME or the local directory.
	Bucket string
	// Base is the path of the build, History that of the job's builds
	// (where latest-build.txt is): what Spyglass and job history read.
	Base, History string
	// Keys are the object keys written, sorted.
	Keys []string
}

// SpyglassURL is the build's page in deck, HistoryURL its job's history
// ("" for a store Deck cannot read).
func (u *Uploaded) SpyglassURL(deck string) string { return u.deckURL(deck, "view", u.Base) }
func (u *Uploaded) HistoryURL(deck string) string  { return u.deckURL(deck, "job-history", u.History) }

func (u *Uploaded) deckURL(deck, page, p string) string {
	scheme, bucket, ok := strings.Cut(u.Bucket, "://")
	if deck == "" || !ok || p == "" {
		return ""
	}
	return strings.TrimSuffix(deck, "/") + "/" + page + "/" + scheme + "/" + bucket + "/" + p
}

// top-level files of the artifacts directory that sit next to artifacts/.
var topLevelFiles = []string{BuildLogFile, prowapi.StartedStatusFile, prowapi.FinishedStatusFile}

// Upload puts a run's results where Spyglass and gubernator look for the job:
// BASE/{build-log.txt,started.json,finished.json,artifacts/...} with BASE the
// path Prow's gcsupload computes for the job spec, plus latest-build.txt and,
// for presubmits, the pr-logs/directory alias file. Writes go through Prow's
// pkg/io opener.
func Upload(ctx context.Context, o UploadOptions) (*Uploaded, error) {
	bucket, prefix, local, err := parseDest(o.Dest)
	if err != nil {
		return nil, err
	}
	opener := o.Opener
	if opener == nil {
		switch {
		case local:
			// Local paths need no storage client; building a GCS one would go
			// looking for cloud credentials.
			opener = pkgio.NewGCSOpener(nil)
		case o.GCSEndpoint != "" && strings.HasPrefix(bucket, "gs://"):
			// As the storage client does for $STORAGE_EMULATOR_HOST, without
			// setting a variable of the whole process.
			client, err := storage.NewClient(ctx, option.WithEndpoint(strings.TrimSuffix(o.GCSEndpoint, "/")+"/storage/v1/"), option.WithoutAuthentication())
			if err != nil {
				return nil, fmt.Errorf("upload: %w", err)
			}
			defer client.Close()
			opener = pkgio.NewGCSOpener(client)
		default:
			if opener, err = pkgio.NewOpener(ctx, o.GCSCredentialsFile, o.S3CredentialsFile); err != nil {
				return nil, fmt.Errorf("upload: %w", err)
			}
		}
	}
	gcsConfig := &prowapi.GCSConfiguration{PathStrategy: prowapi.PathStrategyExplicit}
	if dc := o.Job.DecorationConfig; dc != nil && dc.GCSConfiguration != nil {
		c := *dc.GCSConfiguration
		gcsConfig = &c
	}
	if o.PathStrategy != "" {
		gcsConfig.PathStrategy, gcsConfig.DefaultOrg, gcsConfig.DefaultRepo = o.PathStrategy, o.DefaultOrg, o.DefaultRepo
	}
	if prefix != "" {
		gcsConfig.PathPrefix = prefix
	}
	if o.Job.Type == prowapi.PresubmitJob && (o.Job.Refs == nil || len(o.Job.Refs.Pulls) == 0) {
		return nil, errors.New("upload: presubmit job spec without refs.pulls")
	}
	base, _, builder := gcsupload.PathsForJob(gcsConfig, o.Job, "")

	type target struct {
		key  string
		file string // or data
		data []byte
		opts pkgio.WriterOptions
	}
	var first, last []target
	err = filepath.WalkDir(o.Artifacts, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(o.Artifacts, p)
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(d.Name(), ".lock") {
			return nil
		}
		rel = filepath.ToSlash(rel)
		key := path.Join(base, "artifacts", rel)
		for _, top := range topLevelFiles {
			if rel == top {
				key = path.Join(base, top)
			}
		}
		name, opts := gcs.WriterOptionsFromFileName(path.Base(key))
		t := target{key: path.Join(path.Dir(key), name), file: p, opts: opts}
		if rel == prowapi.FinishedStatusFile {
			// Spyglass takes finished.json as "done": it goes after the rest.
			last = append(last, t)
		} else {
			first = append(first, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if alias := gcs.AliasForSpec(o.Job); alias != "" {
		link := bucket + "/" + base
		first = append(first, target{key: alias, data: []byte(link),
			opts: pkgio.WriterOptions{Metadata: map[string]string{"x-goog-meta-link": link}}})
	}
	up := &Uploaded{Bucket: bucket, Base: base}
	for _, latest := range gcs.LatestBuildForSpec(o.Job, builder) {
		if up.History == "" {
			up.History = strings.TrimSuffix(path.Dir(latest), "/")
		}
		dir, file := path.Split(latest)
		name, opts := gcs.WriterOptionsFromFileName(file)
		last = append(last, target{key: path.Join(dir, name), data: []byte(o.Job.BuildID), opts: opts})
	}

	write := func(t target) error {
		w, err := opener.Writer(ctx, bucket+"/"+t.key, t.opts)
		if err != nil {
			return fmt.Errorf("upload %s: %w", t.key, err)
		}
		var src io.Reader = strings.NewReader(string(t.data))
		if t.file != "" {
			f, err := os.Open(t.file)
			if err != nil {
				w.Close()
				return fmt.Errorf("upload %s: %w", t.key, err)
			}
			defer f.Close()
			src = f
		}
		_, cerr := io.Copy(w, src)
		if err := errors.Join(cerr, w.Close()); err != nil {
			return fmt.Errorf("upload %s: %w", t.key, err)
		}
		return nil
	}
	for _, batch := range [][]target{first, last} {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
			sem  = make(chan struct{}, 4)
		)
		for _, t := range batch {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				err := write(t)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else {
					up.Keys = append(up.Keys, t.key)
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	sort.Strings(up.Keys)
	return up, nil
}

// parseDest splits a destination into the bucket URL (or absolute local
// directory) that Prow's opener takes and a path prefix.
func parseDest(dest string) (bucket, prefix string, local bool, err error) {
	if dest == "" {
		return "", "", false, errors.New("upload: no destination")
	}
	if strings.Contains(dest, "://") {
		u, err := url.Parse(dest)
		if err != nil || u.Host == "" {
			return "", "", false, fmt.Errorf("upload: bad destination %q (want gs://BUCKET[/prefix], s3://BUCKET[/prefix] or a directory)", dest)
		}
		switch u.Scheme {
		case "gs", "s3":
		case "file":
			return parseDest(u.Path)
		default:
			return "", "", false, fmt.Errorf("upload: unsupported destination scheme %q (want gs://, s3:// or a directory)", u.Scheme)
		}
		return u.Scheme + "://" + u.Host, strings.Trim(u.Path, "/"), false, nil
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return "", "", false, fmt.Errorf("upload: %w", err)
	}
	return abs, "", true, nil
}

// uploadSettings are the `with:` of an upload step.
type uploadSettings struct {
	// To is the destination when --upload is not given; $VARS expand from
	// the step's environment.
	To                 string `yaml:"to"`
	PathStrategy       string `yaml:"path_strategy"`
	DefaultOrg         string `yaml:"default_org"`
	DefaultRepo        string `yaml:"default_repo"`
	GCSCredentialsFile string `yaml:"gcs_credentials_file"`
	S3CredentialsFile  string `yaml:"s3_credentials_file"`
	// Decorated uploads even when Prow decorates the job (and uploads
	// $ARTIFACTS itself).
	Decorated bool `yaml:"decorated"`
}

// UploadKindName is the kind of the upload step.
const UploadKindName = "upload"

// UploadStep is the built-in `upload` kind, normally a finalizer. It is a
// ResultsStep: the runner writes the run's record before it starts.
type UploadStep struct{ settings uploadSettings }

var _ ResultsStep = (*UploadStep)(nil)

func newUploadStep(n *yaml.Node) (Step, error) {
	s := &UploadStep{}
	if err := DecodeSettings(n, &s.settings); err != nil {
		return nil, err
	}
	switch s.settings.PathStrategy {
	case "", prowapi.PathStrategyExplicit:
	case prowapi.PathStrategyLegacy, prowapi.PathStrategySingle:
		if s.settings.DefaultOrg == "" || s.settings.DefaultRepo == "" {
			return nil, Errorf(ValueNode(n, "path_strategy"), "with.path_strategy", "%q needs default_org and default_repo", s.settings.PathStrategy)
		}
	default:
		return nil, Errorf(ValueNode(n, "path_strategy"), "with.path_strategy", "unknown %q (want explicit, legacy or single)", s.settings.PathStrategy)
	}
	if s.settings.To != "" && !strings.Contains(s.settings.To, "$") {
		if _, _, _, err := parseDest(s.settings.To); err != nil {
			return nil, Errorf(ValueNode(n, "to"), "with.to", "%v", strings.TrimPrefix(err.Error(), "upload: "))
		}
	}
	return s, nil
}

// UsesResults marks UploadStep as a ResultsStep.
func (*UploadStep) UsesResults() {}

// Run uploads the run's results. It skips when there is nowhere to upload,
// or when Prow decorates the job and so uploads $ARTIFACTS itself.
func (s *UploadStep) Run(ctx context.Context, env *Env) error {
	dest := env.Upload
	if dest == "" {
		if env.Job.DecorationConfig != nil && !s.settings.Decorated {
			return Skip("the job is decorated: Prow uploads $ARTIFACTS")
		}
		// `to: $LOGS_BUCKET` lets an undecorated job's env choose.
		dest = os.Expand(s.settings.To, env.Getenv)
	}
	if dest == "" {
		return Skip("no destination (set with.to or pass --upload)")
	}
	if rep := env.Results; rep != nil {
		fmt.Fprintf(env.Log, "uploading the record of %d steps, %s so far\n", len(rep.Results), rep.Result())
	}
	up, err := Upload(ctx, UploadOptions{
		Dest: dest, Job: env.Job, Artifacts: env.Artifacts, GCSEndpoint: env.Store.GCSEndpoint,
		PathStrategy: s.settings.PathStrategy, DefaultOrg: s.settings.DefaultOrg, DefaultRepo: s.settings.DefaultRepo,
		GCSCredentialsFile: s.settings.GCSCredentialsFile, S3CredentialsFile: s.settings.S3CredentialsFile,
	})
	if err != nil {
		return err
	}
	where := up.Bucket
	if env.Store.GCSEndpoint != "" && strings.HasPrefix(where, "gs://") {
		where += " (GCS emulator " + env.Store.GCSEndpoint + ")"
	}
	fmt.Fprintf(env.Log, "uploaded %d objects to %s\n", len(up.Keys), where)
	for _, k := range up.Keys {
		fmt.Fprintf(env.Log, "  %s\n", k)
	}
	if u := up.SpyglassURL(env.Store.Deck); u != "" {
		fmt.Fprintf(env.Log, "Spyglass: %s\njob history: %s\n", u, up.HistoryURL(env.Store.Deck))
	}
	return nil
}
