// Package gcstest starts a GCS emulator (fake-gcs-server) on 127.0.0.1 for
// tests, the same server the personal cluster runs.
package gcstest

import (
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// Start serves an in-memory emulator with buckets until the test ends.
func Start(t testing.TB, buckets ...string) *fakestorage.Server {
	t.Helper()
	server, err := fakestorage.NewServerWithOptions(fakestorage.Options{Host: "127.0.0.1", Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Stop)
	for _, b := range buckets {
		server.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	return server
}
