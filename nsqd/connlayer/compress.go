package connlayer

import (
	"fmt"
	"io"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/flate"
)

// FlushWriter is a compressing writer: snappy's framed stream or raw
// DEFLATE. Flush must make everything written so far decodable by the peer.
type FlushWriter interface {
	io.Writer
	Flush() error
}

// CompressWriter sits between a connection's output buffer and the layer
// below. It flushes the compressor only when something was written since
// the last flush: a DEFLATE sync flush always emits an empty block, and
// nsqd flushes before every blocking read.
type CompressWriter struct {
	w     FlushWriter
	dirty bool
}

// NewCompressWriter wraps one end of a Compression.
func NewCompressWriter(w FlushWriter) *CompressWriter { return &CompressWriter{w: w} }

func (cw *CompressWriter) Write(p []byte) (int, error) {
	cw.dirty = true
	return cw.w.Write(p)
}

// Flush flushes the compressor if anything was written since the last
// Flush.
func (cw *CompressWriter) Flush() error {
	if !cw.dirty {
		return nil
	}
	cw.dirty = false
	return cw.w.Flush()
}

// Compression is one negotiable compression (IDENTIFY's snappy or
// deflate): its two ends, each built over the layer below.
type Compression struct {
	Name      string
	NewReader func(io.Reader) io.Reader
	NewWriter func(io.Writer) (FlushWriter, error)
}

// Snappy is snappy's framed stream, as upstream speaks it.
func Snappy() Compression {
	return Compression{
		Name:      "snappy",
		NewReader: func(r io.Reader) io.Reader { return snappy.NewReader(r) },
		NewWriter: func(w io.Writer) (FlushWriter, error) {
			// The framed stream's own buffer collects what one flush of
			// the output buffer hands over into as few chunks as possible.
			return snappy.NewBufferedWriter(w), nil
		},
	}
}

// Deflate is raw DEFLATE (no zlib or gzip header) at level, as upstream.
func Deflate(level int) Compression {
	return Compression{
		Name:      "deflate",
		NewReader: func(r io.Reader) io.Reader { return flate.NewReader(r) },
		NewWriter: func(w io.Writer) (FlushWriter, error) {
			fw, err := flate.NewWriter(w, level)
			if err != nil {
				return nil, fmt.Errorf("deflate level %d: %w", level, err)
			}
			return fw, nil
		},
	}
}
