package mkpj

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultGitHubEndpoint is GitHub's API.
const DefaultGitHubEndpoint = "https://api.github.com"

// GitHub reads pull requests and branches from GitHub's REST API.
type GitHub struct {
	// Endpoint is the API's base URL, DefaultGitHubEndpoint unless testing.
	Endpoint string
	// Token authenticates; empty means anonymous. It is never printed.
	Token string
	HTTP  *http.Client
}

// PullRequest is the part of GitHub's pull request that refs need.
type PullRequest struct {
	User struct {
		Login string `json:"login"`
	} `json:"user"`
	Head struct {
		SHA string `json:"sha"`
		Ref string `json:"ref"`
	} `json:"head"`
	Base struct {
		SHA string `json:"sha"`
		Ref string `json:"ref"`
	} `json:"base"`
}

// PullRequest fetches org/repo#number.
func (g *GitHub) PullRequest(ctx context.Context, org, repo string, number int) (*PullRequest, error) {
	var pr PullRequest
	if err := g.get(ctx, fmt.Sprintf("/repos/%s/%s/pulls/%d", url.PathEscape(org), url.PathEscape(repo), number), &pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// BranchSHA returns the commit at the head of branch.
func (g *GitHub) BranchSHA(ctx context.Context, org, repo, branch string) (string, error) {
	var ref struct {
		Object struct {
			SHA string `json:"sha"`
		} `json:"object"`
	}
	if err := g.get(ctx, fmt.Sprintf("/repos/%s/%s/git/ref/heads/%s", url.PathEscape(org), url.PathEscape(repo), branch), &ref); err != nil {
		return "", err
	}
	if ref.Object.SHA == "" {
		return "", fmt.Errorf("GitHub: branch %s of %s/%s has no commit SHA", branch, org, repo)
	}
	return ref.Object.SHA, nil
}

func (g *GitHub) get(ctx context.Context, path string, into any) error {
	endpoint := g.Endpoint
	if endpoint == "" {
		endpoint = DefaultGitHubEndpoint
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(endpoint, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("GitHub: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	client := g.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// url.Error holds the URL only, never the headers.
		return fmt.Errorf("GitHub: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("GitHub: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var msg struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &msg)
		return fmt.Errorf("GitHub: GET %s: %s: %s", path, resp.Status, msg.Message)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GitHub: GET %s: decode: %w", path, err)
	}
	return nil
}
