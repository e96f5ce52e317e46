package promexpo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Scrape is one scrape's samples, handed to every collector in turn. A
// sample that does not fit its desc (the wrong number of label values, a
// value that is not UTF-8, a family another desc already claimed under the
// same name, a histogram's bounds out of order) is left out and reported
// as the collector's error, so one bad series never costs the rest.
//
// A Scrape belongs to one scrape; the registry reuses its memory for the
// next one.
type Scrape struct {
	families  map[string]*family
	sorted    []*family // families with samples, by name (finish)
	strs      []string  // label values of every sample, in label-name order
	nums      []float64 // histogram and summary points of every sample
	errs      []error
	collector Collector // the one collecting, for its errors
	out       []byte    // the encoding buffer (text.go)
}

type family struct {
	desc    *Desc // nil: not seen this scrape
	samples []sample
}

// sample is one series: a counter's or gauge's value, or a histogram's or
// summary's points.
type sample struct {
	labels []string  // values in label-name order (Desc.namesOrder)
	value  float64   // a counter's or gauge's value; a histogram's or summary's sum
	count  uint64    // a histogram's or summary's sample count
	keys   []float64 // histogram: finite upper bounds, ascending; summary: quantiles
	vals   []float64 // histogram: cumulative counts; summary: the quantiles' values
}

func newScrape() *Scrape { return &Scrape{families: map[string]*family{}} }

// reset empties s for the next scrape, keeping its memory.
func (s *Scrape) reset() {
	for _, f := range s.families {
		f.desc = nil
		clear(f.samples)
		f.samples = f.samples[:0]
	}
	clear(s.sorted)
	s.sorted = s.sorted[:0]
	clear(s.strs) // drop references to the last scrape's label values
	s.strs = s.strs[:0]
	s.nums = s.nums[:0]
	clear(s.errs)
	s.errs = s.errs[:0]
	s.collector = nil
}

func (s *Scrape) failf(d *Desc, format string, args ...any) {
	s.errs = append(s.errs, fmt.Errorf("collector %T: %s: %s", s.collector, d.name, fmt.Sprintf(format, args...)))
}

// Value records a counter's or gauge's sample. labelValues are given in
// the order of the desc's label names.
func (s *Scrape) Value(d *Desc, v float64, labelValues ...string) {
	if d.typ != Counter && d.typ != Gauge {
		s.failf(d, "Value given for a %s", d.typ)
		return
	}
	f := s.family(d, labelValues)
	if f == nil {
		return
	}
	f.samples = append(f.samples, sample{labels: s.labels(d, labelValues), value: v})
}

// Histogram records a histogram's sample: cumulative[i] samples were at
// most upperBounds[i] (finite, ascending; the +Inf bucket is count), and
// sum is their total.
func (s *Scrape) Histogram(d *Desc, upperBounds []float64, cumulative []uint64, count uint64, sum float64, labelValues ...string) {
	if d.typ != Histogram {
		s.failf(d, "Histogram given for a %s", d.typ)
		return
	}
	if len(upperBounds) != len(cumulative) {
		s.failf(d, "%d upper bounds and %d counts", len(upperBounds), len(cumulative))
		return
	}
	for i, b := range upperBounds {
		if math.IsNaN(b) || math.IsInf(b, 0) || i > 0 && b <= upperBounds[i-1] {
			s.failf(d, "upper bounds %v are not finite and ascending", upperBounds)
			return
		}
	}
	f := s.family(d, labelValues)
	if f == nil {
		return
	}
	start := len(s.nums)
	s.nums = append(s.nums, upperBounds...)
	for _, c := range cumulative {
		s.nums = append(s.nums, float64(c))
	}
	mid := start + len(upperBounds)
	f.samples = append(f.samples, sample{
		labels: s.labels(d, labelValues), value: sum, count: count,
		keys: s.nums[start:mid:mid], vals: s.nums[mid:len(s.nums):len(s.nums)],
	})
}

// Summary records a summary's sample: values[i] is the quantiles[i]
// quantile (ascending, within [0, 1]) of count observations totalling sum.
func (s *Scrape) Summary(d *Desc, quantiles, values []float64, count uint64, sum float64, labelValues ...string) {
	if d.typ != Summary {
		s.failf(d, "Summary given for a %s", d.typ)
		return
	}
	if len(quantiles) != len(values) {
		s.failf(d, "%d quantiles and %d values", len(quantiles), len(values))
		return
	}
	for i, q := range quantiles {
		if !(q >= 0 && q <= 1) || i > 0 && q <= quantiles[i-1] {
			s.failf(d, "quantiles %v are not ascending within [0, 1]", quantiles)
			return
		}
	}
	f := s.family(d, labelValues)
	if f == nil {
		return
	}
	start := len(s.nums)
	s.nums = append(append(s.nums, quantiles...), values...)
	mid := start + len(quantiles)
	f.samples = append(f.samples, sample{
		labels: s.labels(d, labelValues), value: sum, count: count,
		keys: s.nums[start:mid:mid], vals: s.nums[mid:len(s.nums):len(s.nums)],
	})
}

// family is d's family for this scrape, or nil (the error recorded) when
// labelValues do not fit d or another desc holds d's name.
func (s *Scrape) family(d *Desc, labelValues []string) *family {
	if len(labelValues) != len(d.labels) {
		s.failf(d, "%d label values for labels %v", len(labelValues), d.labels)
		return nil
	}
	for _, v := range labelValues {
		if !utf8.ValidString(v) {
			s.failf(d, "label value %q is not valid UTF-8", v)
			return nil
		}
	}
	f := s.families[d.name]
	switch {
	case f == nil:
		f = &family{desc: d}
		s.families[d.name] = f
	case f.desc == nil:
		f.desc = d
	case !f.desc.sameFamily(d):
		s.failf(d, "a %s with labels %v and help %q, which another desc names a %s with labels %v and help %q",
			d.typ, d.namesOrder, d.help, f.desc.typ, f.desc.namesOrder, f.desc.help)
		return nil
	}
	return f
}

// labels copies labelValues into the arena in label-name order.
func (s *Scrape) labels(d *Desc, labelValues []string) []string {
	start := len(s.strs)
	for _, i := range d.byName {
		s.strs = append(s.strs, labelValues[i])
	}
	return s.strs[start:len(s.strs):len(s.strs)]
}

// finish orders the scrape as client_golang's registry does: families by
// name, a family's series by their label values compared in label-name
// order. A series seen twice is an error; the first is kept.
func (s *Scrape) finish() {
	for _, f := range s.families {
		if len(f.samples) == 0 {
			continue
		}
		slices.SortStableFunc(f.samples, func(a, b sample) int { return slices.Compare(a.labels, b.labels) })
		kept := f.samples[:1]
		for _, smp := range f.samples[1:] {
			if slices.Equal(smp.labels, kept[len(kept)-1].labels) {
				s.errs = append(s.errs, fmt.Errorf("%s{%s} collected twice", f.desc.name, strings.Join(smp.labels, ",")))
				continue
			}
			kept = append(kept, smp)
		}
		clear(f.samples[len(kept):])
		f.samples = kept
		s.sorted = append(s.sorted, f)
	}
	slices.SortFunc(s.sorted, func(a, b *family) int { return cmp.Compare(a.desc.name, b.desc.name) })
}
