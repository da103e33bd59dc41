// Package filetree writes the small directory trees tests build their inputs
// from: job config directories, checkouts, result folders.
package filetree

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes files (slash-separated path relative to dir -> content) under
// dir, making the directories on the way, and fails the test on any error.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Temp writes files under a new temporary directory of the test and returns it.
func Temp(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}
