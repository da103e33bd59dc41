package prowjob

import (
	"net/url"
	"strings"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
)

// JobURL is where pj shows in Deck: its Spyglass page once plank has set
// status.url, until then Deck's job list filtered to its job. "" when the
// cluster records no Deck and the job no URL.
func (c *Client) JobURL(pj *prowapi.ProwJob) string {
	if pj.Status.URL != "" {
		return pj.Status.URL
	}
	if c.DeckURL == "" {
		return ""
	}
	return strings.TrimSuffix(c.DeckURL, "/") + "/?job=" + url.QueryEscape(pj.Spec.Job)
}
