package promexpo

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Collector adds its series to a scrape. Collect is called once per
// scrape, possibly by several scrapes at once. An error it returns is
// logged; what it recorded before failing, and every other collector's
// series, are still served.
type Collector interface {
	Collect(s *Scrape) error
}

// CollectorFunc is a function as a Collector.
type CollectorFunc func(s *Scrape) error

func (f CollectorFunc) Collect(s *Scrape) error { return f(s) }

// Registry is a set of collectors served as one exposition: an
// http.Handler for GET /metrics.
type Registry struct {
	collectors []Collector
	logf       func(format string, args ...any)
	// scrapes and gzips keep one scrape's memory for the next: a scrape
	// every few seconds would otherwise rebuild the same few hundred KB.
	// sync.Pool lets the collector free them when scrapes stop.
	scrapes sync.Pool // *Scrape
	gzips   sync.Pool // *gzip.Writer
}

// NewRegistry serves collectors, in that order (the order matters only to
// which of two collectors' duplicate series is kept). logf reports
// collectors' failures; nil: they are not reported.
func NewRegistry(logf func(format string, args ...any), collectors ...Collector) *Registry {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Registry{collectors: slices.Clone(collectors), logf: logf}
}

// gather runs every collector into a scrape and orders it.
func (r *Registry) gather() *Scrape {
	s, _ := r.scrapes.Get().(*Scrape)
	if s == nil {
		s = newScrape()
	}
	for _, c := range r.collectors {
		s.collector = c
		if err := c.Collect(s); err != nil {
			s.errs = append(s.errs, err)
		}
	}
	s.finish()
	return s
}

func (r *Registry) release(s *Scrape) {
	s.reset()
	r.scrapes.Put(s)
}

// Write encodes one scrape in the text format to w. Collectors' failures
// are returned, joined, after the rest is written.
func (r *Registry) Write(w io.Writer) error {
	s := r.gather()
	defer r.release(s)
	errs := append([]error(nil), s.errs...)
	if err := s.writeText(w); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ServeHTTP answers a scrape in the text format whatever the Accept header
// asks (a scraper asking for protobuf or OpenMetrics falls back to text),
// gzipped when Accept-Encoding allows. A collector that fails is logged
// and the rest served, as promhttp's ContinueOnError did.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s := r.gather()
	defer r.release(s)
	for _, err := range s.errs {
		r.logf("error gathering metrics: %v", err)
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	if !slices.ContainsFunc(h.Values("Vary"), func(v string) bool { return strings.EqualFold(v, "Accept-Encoding") }) {
		h.Add("Vary", "Accept-Encoding")
	}
	if !acceptsGzip(strings.Join(req.Header.Values("Accept-Encoding"), ",")) {
		if err := s.writeText(w); err != nil {
			r.logf("sending metrics: %v", err)
		}
		return
	}
	h.Set("Content-Encoding", "gzip")
	gz, _ := r.gzips.Get().(*gzip.Writer)
	if gz == nil {
		// BestSpeed: the text is repetitive enough that the fastest level
		// shrinks it several times over; a higher one would cost the
		// daemon CPU on every scrape for little.
		gz, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
	} else {
		gz.Reset(w)
	}
	err := s.writeText(gz)
	if closeErr := gz.Close(); err == nil {
		err = closeErr
	}
	gz.Reset(io.Discard) // hold no reference to the finished response
	r.gzips.Put(gz)
	if err != nil {
		r.logf("sending metrics: %v", err)
	}
}
