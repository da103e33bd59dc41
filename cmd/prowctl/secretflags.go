package main

import (
	"github.com/spf13/pflag"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobsecret"
	"github.com/prowctl/prowctl/pkg/redact"
)

// secretFlags give a job its Secrets from local files: run, mkpj --create
// and rehearse share them.
type secretFlags struct {
	Secrets     []string
	SecretFiles []string
	ShowSecrets bool
}

func (s *secretFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&s.Secrets, "secret", nil, "a Secret the job reads, from a local file: NAME/KEY=FILE, NAME=FILE (the key is the file's name) or NAME=DIR (a key per file); repeatable")
	fs.StringArrayVar(&s.SecretFiles, "secret-file", nil, "Secrets from a file of SECRET/KEY=VALUE lines; repeatable")
	fs.BoolVar(&s.ShowSecrets, "show-secrets", false, "print the given secrets' values instead of ***")
}

// load reads the given Secrets and, unless --show-secrets, masks their
// values in everything the command prints from here on (the job's
// streamed log included); flush writes what the masking holds back.
// Nothing given: nil, and the streams are left alone.
func (s *secretFlags) load(streams *iostreams.IOStreams) (given *jobsecret.Given, flush func(), err error) {
	flush = func() {}
	if len(s.Secrets) == 0 && len(s.SecretFiles) == 0 {
		return nil, flush, nil
	}
	given = &jobsecret.Given{}
	for _, f := range s.Secrets {
		if err := given.AddFlag(f); err != nil {
			return nil, flush, usageErrorf("%v", err)
		}
	}
	for _, f := range s.SecretFiles {
		if err := given.AddEnvFile(f); err != nil {
			return nil, flush, usageErrorf("--secret-file %v", err)
		}
	}
	if s.ShowSecrets {
		return given, flush, nil
	}
	m := redact.NewMasker(given.Values())
	out, errOut := m.Writer(streams.Out), m.Writer(streams.ErrOut)
	streams.Out, streams.ErrOut = out, errOut
	return given, func() { out.Flush(); errOut.Flush() }, nil
}
