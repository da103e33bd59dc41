// Package suggest measures how far a mistyped name is from the names a user
// could have meant, for the "did you mean …?" of every command. Each caller
// keeps its own threshold: a job name tolerates a different slip than a YAML
// key.
package suggest

// Distance is the Levenshtein edit distance between a and b, counted in bytes
// (names here are ASCII identifiers).
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
