// Package junit writes JUnit XML as Spyglass's JUnit lens and TestGrid read
// it: suites of test cases, each passing, failed or skipped.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
)

// Suites is the document: <testsuites>.
type Suites struct {
	XMLName xml.Name `xml:"testsuites"`
	// Tests and Failures total the suites; omitted when zero.
	Tests    int     `xml:"tests,attr,omitempty"`
	Failures int     `xml:"failures,attr,omitempty"`
	Suites   []Suite `xml:"testsuite"`
}

// Suite is one <testsuite>.
type Suite struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Skipped  int    `xml:"skipped,attr"`
	// Time is in seconds ("12.345"); omitted when empty.
	Time  string `xml:"time,attr,omitempty"`
	Cases []Case `xml:"testcase"`
}

// Case is one <testcase>; a nil Failure and Skipped means it passed.
type Case struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      string   `xml:"time,attr,omitempty"`
	Failure   *Message `xml:"failure,omitempty"`
	Skipped   *Message `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Message is the body of a <failure> or <skipped>.
type Message struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Add appends c to the suite and counts it.
func (s *Suite) Add(c Case) {
	s.Cases = append(s.Cases, c)
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Skipped != nil:
		s.Skipped++
	}
}

// Marshal renders the document with the XML header, indented by two
// spaces, ending in a newline.
func Marshal(s Suites) ([]byte, error) {
	b, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	out := append([]byte(xml.Header), b...)
	return append(out, '\n'), nil
}

// Write renders the document to w.
func Write(w io.Writer, s Suites) error {
	b, err := Marshal(s)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
