package lint

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"sync"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/prow/pkg/config"
	syaml "sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// JobConfigDecoder decodes job config files as Prow's decoder does, through
// the one YAML-to-JSON conversion in convert.go: decoding is most of the cost
// of loading a large config, so pkg/mkpj's loader uses it rather than a
// second copy. The zero value is ready, and safe for concurrent use.
//
// A decoder remembers what each file's bytes converted to, so that decoding
// the same bytes again (the unchanged files of two versions of a config)
// only unmarshals them: use one per set of configs loaded together.
type JobConfigDecoder struct {
	types     typeCache
	converted sync.Map // SHA-256 of a file's bytes -> *conversion
}

type conversion struct {
	once sync.Once
	json []byte // nil: Prow's decoder decides
}

// Decode is sigs.k8s.io/yaml.Unmarshal(data, jc), Prow's decoding of a job
// config file, with the same result and the same error. SourcePath is left
// to the caller, as Prow's decoder leaves it.
func (d *JobConfigDecoder) Decode(data []byte, jc *config.JobConfig) error {
	v, _ := d.converted.LoadOrStore(sha256.Sum256(data), &conversion{})
	c := v.(*conversion)
	c.once.Do(func() {
		// yaml.v3 refusing what yaml.v2 may accept leaves it to Prow's decoder.
		if doc, err := yamlpos.ParseFirst("", data); err == nil {
			c.json = convertLikeProw(&d.types, data, doc)
		}
	})
	return unmarshalLikeProw(c.json, data, jc)
}

// decodeLikeProw fills jc exactly as Prow's decoder does from data, doc
// being data parsed: straight from the tree when the assigner can
// (assign.go), else through the converter's JSON and, failing that, Prow's
// decoder itself.
func decodeLikeProw(types *typeCache, data []byte, doc *yaml.Node, jc *config.JobConfig) error {
	if !hasNonSpecificTag(data) {
		if newAssigner(types).value(doc, target{typ: reflect.PointerTo(jobConfigType)}, reflect.ValueOf(jc).Elem()) == nil {
			return nil
		}
		*jc = config.JobConfig{}
	}
	return unmarshalLikeProw(convertLikeProw(types, data, doc), data, jc)
}

// convertLikeProw returns the JSON Prow's decoder makes of data on the way
// to a JobConfig, from the parsed doc; nil when the conversion fails or the
// file uses the non-specific tag "!" (which yaml.v3's tree does not record),
// where Prow's decoder must run on the bytes.
func convertLikeProw(types *typeCache, data []byte, doc *yaml.Node) []byte {
	if hasNonSpecificTag(data) {
		return nil
	}
	b, err := toJSON(types, doc, jobConfigType)
	if err != nil {
		return nil
	}
	return b
}

// unmarshalLikeProw decodes b, convertLikeProw's JSON of data, into jc; when
// there is none, or it does not decode, Prow's decoder runs on the bytes, so
// its verdict and message are Prow's own.
func unmarshalLikeProw(b, data []byte, jc *config.JobConfig) error {
	if b != nil && json.Unmarshal(b, jc) == nil {
		return nil
	}
	*jc = config.JobConfig{}
	return syaml.Unmarshal(data, jc)
}

// hasNonSpecificTag reports whether data may hold a lone "!" tag. It errs
// on the side of yes (a shell "if ! cmd" in a script counts), which only
// costs a second parse of that file.
func hasNonSpecificTag(data []byte) bool {
	for i := bytes.IndexByte(data, '!'); i >= 0; {
		if i+1 == len(data) {
			return true
		}
		switch data[i+1] {
		case ' ', '\t', '\n', '\r', ',', ']', '}':
			return true
		}
		j := bytes.IndexByte(data[i+1:], '!')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}
