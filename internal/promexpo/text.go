package promexpo

import (
	"io"
	"math"
	"strconv"
)

// ContentType is the text exposition format's, version 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// flushAt is how much encoded text is buffered before it is written out:
// enough that a scrape is a few writes, little enough that a node with
// thousands of channels does not hold its whole exposition at once.
const flushAt = 32 << 10

// writeText encodes a finished scrape: per family a # HELP and a # TYPE
// line, then its series, byte for byte as client_golang's text encoder
// (prometheus/common's expfmt) writes them.
func (s *Scrape) writeText(w io.Writer) error {
	b := s.out[:0]
	defer func() { s.out = b[:0] }()
	for _, f := range s.sorted {
		b = appendFamily(b, f)
		if len(b) >= flushAt {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if len(b) == 0 {
		return nil
	}
	_, err := w.Write(b)
	return err
}

func appendFamily(b []byte, f *family) []byte {
	d := f.desc
	b = append(b, "# HELP "...)
	b = append(b, d.name...)
	b = append(b, ' ')
	b = appendEscaped(b, d.help, false)
	b = append(b, "\n# TYPE "...)
	b = append(b, d.name...)
	b = append(b, ' ')
	b = append(b, d.typ.String()...)
	b = append(b, '\n')
	for i := range f.samples {
		smp := &f.samples[i]
		switch d.typ {
		case Counter, Gauge:
			b = appendSample(b, d, "", smp.labels, "", 0, smp.value)
		case Histogram:
			for j, bound := range smp.keys {
				b = appendSample(b, d, "_bucket", smp.labels, "le", bound, smp.vals[j])
			}
			b = appendSample(b, d, "_bucket", smp.labels, "le", math.Inf(1), float64(smp.count))
			b = appendSample(b, d, "_sum", smp.labels, "", 0, smp.value)
			b = appendSample(b, d, "_count", smp.labels, "", 0, float64(smp.count))
		case Summary:
			for j, q := range smp.keys {
				b = appendSample(b, d, "", smp.labels, "quantile", q, smp.vals[j])
			}
			b = appendSample(b, d, "_sum", smp.labels, "", 0, smp.value)
			b = appendSample(b, d, "_count", smp.labels, "", 0, float64(smp.count))
		}
	}
	return b
}

// appendSample is one line: name and suffix, the labels in name order and
// then extra (le or quantile) when given, and the value.
func appendSample(b []byte, d *Desc, suffix string, labels []string, extra string, extraValue, value float64) []byte {
	b = append(b, d.name...)
	b = append(b, suffix...)
	if len(labels) > 0 || extra != "" {
		sep := byte('{')
		for i, v := range labels {
			b = append(b, sep)
			b = append(b, d.namesOrder[i]...)
			b = append(b, '=', '"')
			b = appendEscaped(b, v, true)
			b = append(b, '"')
			sep = ','
		}
		if extra != "" {
			b = append(b, sep)
			b = append(b, extra...)
			b = append(b, '=', '"')
			b = appendFloat(b, extraValue)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, value)
	return append(b, '\n')
}

// appendEscaped escapes a backslash and a newline, and a double quote in a
// label value (quoted); HELP text keeps its quotes.
func appendEscaped(b []byte, s string, quoted bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; {
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '"' && quoted:
			esc = `\"`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendFloat writes a value as Prometheus reads it: NaN, +Inf and -Inf by
// name, zero (either sign) as 0, anything else in Go's shortest 'g' form.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 0:
		return append(b, '0')
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
