package promexpo

import (
	"fmt"
	"slices"
)

// Type is a metric family's type, as the # TYPE line names it.
type Type uint8

const (
	Counter Type = iota + 1
	Gauge
	Histogram
	Summary
)

func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	case Summary:
		return "summary"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Desc describes one metric family: its name, help text, type and label
// names. It is immutable once made, so package-level descs are shared by
// every registry.
type Desc struct {
	name, help string
	typ        Type
	labels     []string // in the order a sample's values are given
	// byName[i] is the index in labels of the i-th label in name order:
	// series are written with their labels sorted by name, as
	// client_golang writes them.
	byName     []int
	namesOrder []string // labels sorted by name
}

// NewDesc describes a family. Descs are fixed in the source, so an invalid
// one is a programming error: NewDesc panics on a name or label name
// Prometheus would refuse, a repeated label, or a label the type reserves
// (le for histograms, quantile for summaries).
func NewDesc(typ Type, name, help string, labels ...string) *Desc {
	if typ < Counter || typ > Summary {
		panic(fmt.Sprintf("promexpo: %s: unknown type %d", name, typ))
	}
	if !validMetricName(name) {
		panic(fmt.Sprintf("promexpo: invalid metric name %q", name))
	}
	d := &Desc{name: name, help: help, typ: typ, labels: slices.Clone(labels)}
	for i, l := range labels {
		if !validLabelName(l) {
			panic(fmt.Sprintf("promexpo: %s: invalid label name %q", name, l))
		}
		if slices.Contains(labels[:i], l) {
			panic(fmt.Sprintf("promexpo: %s: label %q twice", name, l))
		}
		if (typ == Histogram && l == "le") || (typ == Summary && l == "quantile") {
			panic(fmt.Sprintf("promexpo: %s: label %q is reserved for a %s", name, l, typ))
		}
		d.byName = append(d.byName, i)
	}
	slices.SortFunc(d.byName, func(a, b int) int {
		switch {
		case labels[a] < labels[b]:
			return -1
		case labels[a] > labels[b]:
			return 1
		}
		return 0
	})
	for _, i := range d.byName {
		d.namesOrder = append(d.namesOrder, labels[i])
	}
	return d
}

// sameFamily says whether two descs describe the same family: two
// collectors may each hold a desc of one family (the same name, type, help
// and labels), never two different families under one name.
func (d *Desc) sameFamily(o *Desc) bool {
	return d == o || (d.name == o.name && d.help == o.help && d.typ == o.typ && slices.Equal(d.namesOrder, o.namesOrder))
}

// validMetricName is Prometheus' legacy metric name rule,
// [a-zA-Z_:][a-zA-Z0-9_:]*: names outside it would need the quoted UTF-8
// syntax the 0.0.4 text format does not have.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validLabelName is [a-zA-Z_][a-zA-Z0-9_]*, without the __ prefix
// Prometheus reserves for itself.
func validLabelName(s string) bool {
	if s == "" || len(s) >= 2 && s[:2] == "__" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
