package main

import (
	"github.com/spf13/pflag"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/mkpj"
)

// jobFlags pick a job of the config and the refs it runs against: the
// flags mkpj and run share.
type jobFlags struct {
	Repo string
	Type string
	Refs mkpj.Refs
}

func (j *jobFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&j.Repo, "repo", "", "ORG/REPO of the job, when its name is in several repos")
	fs.StringVar(&j.Type, "type", "", "presubmit, postsubmit or periodic, when the name has several types")
	addRefFlags(fs, &j.Refs)
}

// addRefFlags are the flags of the refs a job runs against.
func addRefFlags(fs *pflag.FlagSet, r *mkpj.Refs) {
	fs.StringVar(&r.BaseRef, "base-ref", "", "git base ref (branch) under test")
	fs.StringVar(&r.BaseSHA, "base-sha", "", "git base SHA under test")
	fs.IntVar(&r.PullNumber, "pull-number", 0, "pull request number under test")
	fs.StringVar(&r.PullSHA, "pull-sha", "", "pull request head SHA under test")
	fs.StringVar(&r.PullAuthor, "pull-author", "", "pull request author (GitHub login)")
	fs.StringVar(&r.PullHeadRef, "pull-head-ref", "", "branch name of the pull request")
}

// query is the lookup of the job called name; a bad --type is a usage error.
func (j *jobFlags) query(name string) (mkpj.Query, error) {
	switch t := prowapi.ProwJobType(j.Type); t {
	case "", prowapi.PresubmitJob, prowapi.PostsubmitJob, prowapi.PeriodicJob:
		return mkpj.Query{Name: name, Repo: j.Repo, Type: t, BaseRef: j.Refs.BaseRef}, nil
	}
	return mkpj.Query{}, usageErrorf("--type %s: use presubmit, postsubmit or periodic", j.Type)
}
