package e2e

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Stages groups steps by when they can start: a step's stage is one more
// than the latest stage of what it needs. Finalizers come after every
// regular stage, ordered among themselves by their needs.
func Stages(p *Pipeline) [][]*StepSpec {
	memo := map[string]int{}
	// depth counts edges to steps of the same sort (regular or finalizer).
	var depth func(s *StepSpec) int
	depth = func(s *StepSpec) int {
		if d, ok := memo[s.Name]; ok {
			return d
		}
		d := 0
		for _, need := range s.Needs {
			if dep := p.Lookup(need); dep != nil && dep.Always == s.Always {
				d = max(d, depth(dep)+1)
			}
		}
		memo[s.Name] = d
		return d
	}
	regular := 0
	for _, s := range p.Steps {
		if !s.Always {
			regular = max(regular, depth(s)+1)
		}
	}
	var out [][]*StepSpec
	for _, s := range p.Steps {
		d := depth(s)
		if s.Always {
			d += regular
		}
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], s)
	}
	return out
}

// WriteGraph writes the pipeline as text (stages, one step a line, with
// what each needs) or as Graphviz dot.
func WriteGraph(w io.Writer, p *Pipeline, format string) error {
	switch format {
	case "", "text":
		return writeText(w, p)
	case "dot":
		return writeDot(w, p)
	}
	return fmt.Errorf("graph: unknown output format %q (want text or dot)", format)
}

func writeText(w io.Writer, p *Pipeline) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSTEP\tKIND\tNEEDS")
	for i, stage := range Stages(p) {
		for j, s := range stage {
			num := ""
			if j == 0 {
				num = fmt.Sprint(i + 1)
			}
			needs := strings.Join(s.Needs, ", ")
			if needs == "" {
				needs = "-"
			}
			kind := s.Kind()
			if s.Always {
				kind += " (always)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", num, s.Name, kind, needs)
		}
	}
	return tw.Flush()
}

func writeDot(w io.Writer, p *Pipeline) error {
	var b strings.Builder
	b.WriteString("digraph e2e {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n")
	for _, s := range p.Steps {
		style := ""
		if s.Always {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %q [label=%q%s];\n", s.Name, s.Name+"\n"+s.Kind(), style)
	}
	for _, s := range p.Steps {
		for _, need := range s.Needs {
			fmt.Fprintf(&b, "  %q -> %q;\n", need, s.Name)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
