package yamlpos

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// probeBudget bounds the bytes re-parsed while locating one syntax error
// (each probe parses a prefix of the input): yaml.v3 builds nodes at about
// 1-2 MB/s, so a 1 MB file costs at most a few seconds to place an error.
const probeBudget = 4 << 20

// SyntaxError turns a yaml.v3 parse error on data into an *Error at the
// real line and column.
//
// yaml.v3 says only "line N", and N is the 0-based line for parser errors
// but 1-based for scanner errors, and sometimes the line where the
// enclosing construct started rather than the offending one; NUL bytes and
// invalid UTF-8 carry no line at all. The position is recovered from the
// input: the bad line is the first one such that the lines before it parse
// and the lines up to it do not, and the column is found the same way
// within that line.
func SyntaxError(file string, data []byte, err error) *Error {
	msg := err.Error()
	reported := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		reported, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if reported == 0 && (strings.Contains(msg, "UTF-8") || strings.Contains(msg, "control characters") || strings.Contains(msg, "Unicode")) {
		// The reader's errors: no line at all.
		if e := badCharacter(file, data); e != nil {
			return e
		}
	}
	lines := splitLines(data)
	line, col := locate(data, lines, reported)
	if l, c, ok := tabIndent(lines, line); ok && (strings.Contains(msg, "tab") || strings.Contains(msg, "cannot start any token") || l == line) {
		return &Error{File: file, Line: l, Column: c, Msg: "tab character in indentation; indent YAML with spaces"}
	}
	if strings.HasPrefix(msg, "unknown anchor ") {
		if l, c, ok := findAlias(lines, msg); ok {
			line, col = l, c
		}
	}
	return &Error{File: file, Line: line, Column: col, Msg: "invalid YAML: " + msg}
}

// splitLines splits data after each "\n", keeping it, so joining a prefix of
// the result gives a prefix of data.
func splitLines(data []byte) [][]byte {
	return bytes.SplitAfter(data, []byte("\n"))
}

func parses(b []byte) bool {
	var n yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		if err := dec.Decode(&n); err != nil {
			return err.Error() == "EOF"
		}
	}
}

// locate finds the line and column of the error yaml.v3 reported at line
// reported (0 when it named none).
func locate(data []byte, lines [][]byte, reported int) (line, col int) {
	budget := probeBudget
	prefixLen := func(k int) int { // bytes of the first k lines
		n := 0
		for _, l := range lines[:k] {
			n += len(l)
		}
		return n
	}
	okPrefix := func(k int) (ok, spent bool) {
		n := prefixLen(k)
		if budget < n {
			return false, true
		}
		budget -= n
		return parses(data[:n]), false
	}
	// The bad line is the first whose prefix fails to parse while the lines
	// before it parse. yaml.v3 reports the line itself (scanner errors), the
	// line before (parser errors), or where the enclosing construct opened:
	// search from there, up when the lines up to the report parse, else down
	// (a construct left open further above).
	start := min(reported, len(lines))
	line = 0
	ok, spent := okPrefix(start)
	switch {
	case spent:
	case ok:
		lo, hi := start, len(lines) // prefix(lo) parses, prefix(hi) does not
		for step := 1; lo+1 < hi && step <= 4; step++ {
			if ok, spent := okPrefix(lo + 1); spent {
				lo = -1
				break
			} else if !ok {
				hi = lo + 1
				break
			}
			lo++
		}
		for lo >= 0 && lo+1 < hi {
			mid := (lo + hi) / 2
			ok, spent := okPrefix(mid)
			if spent {
				lo = -1
				break
			}
			if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
		if lo >= 0 {
			line = lo + 1
		}
	default:
		lo, hi := 0, start-1 // prefix(0) parses; find the last k <= hi that does
		for k := start - 1; k >= 0 && k >= start-2; k-- {
			ok, spent := okPrefix(k)
			if spent {
				lo = -1
				break
			}
			if ok {
				lo, hi = k, k
				break
			}
			hi = k - 1
		}
		for lo >= 0 && lo < hi {
			mid := (lo + hi + 1) / 2
			ok, spent := okPrefix(mid)
			if spent {
				lo = -1
				break
			}
			if ok {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		if lo >= 0 {
			line = lo + 1
		}
	}
	if line == 0 || line > len(lines) {
		// Out of budget: trust the report, corrected for parser errors.
		line = max(1, min(reported, len(lines)))
		return line, firstNonSpace(lines, line)
	}
	// Within the line, the column is where the longest prefix of the line
	// that still parses ends. The lines before it matter only through the
	// construct they leave open; when the last top-level line before it
	// starts an entry that parses on its own as it does in the file, the
	// probes parse from there, which keeps them small in a large file.
	from := 0
	if k := lastTopLevel(lines, line); k > 0 {
		start, end := prefixLen(k-1), prefixLen(line-1)
		if parses(data[start:end]) && !parses(data[start:prefixLen(line)]) {
			from = start
		}
	}
	before := prefixLen(line-1) - from
	head := data[from : from+before]
	text := bytes.TrimRight(lines[line-1], "\r\n")
	for c := len(text) - 1; c >= 0; c-- {
		if budget < before+c {
			return line, firstNonSpace(lines, line)
		}
		budget -= before + c + 1
		probe := make([]byte, 0, before+c+1)
		probe = append(append(append(probe, head...), text[:c]...), '\n')
		if parses(probe) {
			return line, utf8.RuneCount(text[:c]) + 1
		}
	}
	return line, 1
}

// lastTopLevel is the last line before line (1-based) that starts at
// column 1 with content: a top-level key or list item. 0 when none.
func lastTopLevel(lines [][]byte, line int) int {
	for k := line - 1; k >= 1; k-- {
		l := lines[k-1]
		if len(l) == 0 || l[0] == ' ' || l[0] == '\t' || l[0] == '#' || l[0] == '\n' || l[0] == '\r' || bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("...")) {
			continue
		}
		return k
	}
	return 0
}

func firstNonSpace(lines [][]byte, line int) int {
	if line < 1 || line > len(lines) {
		return 1
	}
	l := lines[line-1]
	i := len(l) - len(bytes.TrimLeft(l, " "))
	if i >= len(bytes.TrimRight(l, "\r\n")) {
		return 1
	}
	return utf8.RuneCount(l[:i]) + 1
}

// tabIndent finds the first tab in the indentation of lines up to line.
func tabIndent(lines [][]byte, line int) (int, int, bool) {
	for i, l := range lines {
		if i >= line {
			break
		}
		for j, c := range l {
			if c == '\t' {
				return i + 1, j + 1, true
			}
			if c != ' ' && c != '-' {
				break
			}
		}
	}
	return 0, 0, false
}

var anchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

func findAlias(lines [][]byte, msg string) (int, int, bool) {
	m := anchorRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0, false
	}
	needle := []byte("*" + m[1])
	for i, l := range lines {
		if j := bytes.Index(l, needle); j >= 0 {
			return i + 1, utf8.RuneCount(l[:j]) + 1, true
		}
	}
	return 0, 0, false
}

// badCharacter finds the first byte YAML does not allow: invalid UTF-8, or
// a control character other than tab, LF, CR and NEL.
func badCharacter(file string, data []byte) *Error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		var msg string
		switch {
		case r == utf8.RuneError && size <= 1:
			msg = fmt.Sprintf("invalid UTF-8 (byte 0x%02x); save the file as UTF-8", data[i])
		case r == 0:
			msg = "NUL byte (0x00); YAML files are text"
		case (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r < 0xa0 && r != 0x85) || (r >= 0xd800 && r <= 0xdfff) || r == 0xfffe || r == 0xffff:
			msg = fmt.Sprintf("control character U+%04X is not allowed in YAML", r)
		}
		if msg != "" {
			return &Error{File: file, Line: line, Column: col, Msg: "invalid YAML: " + msg}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}
