package mkpj

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Prompter asks for missing values on a terminal.
type Prompter struct {
	in  *bufio.Reader
	out io.Writer
}

// NewPrompter prompts on out and reads answers from in.
func NewPrompter(in io.Reader, out io.Writer) *Prompter {
	return &Prompter{in: bufio.NewReader(in), out: out}
}

// maxTries bounds how often a prompt repeats after invalid answers.
const maxTries = 3

// Ask prints label, reads a line and validates it, asking again after an
// invalid answer.
func (p *Prompter) Ask(label string, valid func(string) error) (string, error) {
	var lastErr error
	for range maxTries {
		fmt.Fprintf(p.out, "%s: ", label)
		line, err := p.in.ReadString('\n')
		line = strings.TrimSpace(line)
		if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
			if errors.Is(err, io.EOF) {
				return "", fmt.Errorf("%s: no answer (end of input)", label)
			}
			return "", fmt.Errorf("%s: %w", label, err)
		}
		if lastErr = valid(line); lastErr == nil {
			return line, nil
		}
		fmt.Fprintf(p.out, "  %v\n", lastErr)
	}
	return "", fmt.Errorf("%s: %w", label, lastErr)
}

// Number asks for a positive number.
func (p *Prompter) Number(label string) (int, error) {
	s, err := p.Ask(label, func(s string) error { _, err := validNumber(s); return err })
	if err != nil {
		return 0, err
	}
	return validNumber(s)
}
