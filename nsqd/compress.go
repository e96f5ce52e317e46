package nsqd

import (
	"bytes"
	"fmt"
	"io"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/flate"
)

// flushWriter is a compressing writer: snappy's framed stream or raw
// DEFLATE. Flush must make everything written so far decodable by the peer.
type flushWriter interface {
	io.Writer
	Flush() error
}

// compressWriter sits between the output buffer and the deadline layer. It
// flushes the compressor only when something was written since the last
// flush: a DEFLATE sync flush always emits an empty block, and the reader
// calls flushLocked before every blocking read.
type compressWriter struct {
	w     flushWriter
	dirty bool
}

func (cw *compressWriter) Write(p []byte) (int, error) {
	cw.dirty = true
	return cw.w.Write(p)
}

func (cw *compressWriter) Flush() error {
	if !cw.dirty {
		return nil
	}
	cw.dirty = false
	return cw.w.Flush()
}

// compressor is one negotiated compression: its two ends, built over the
// deadline layer.
type compressor struct {
	name    string
	reader  func(io.Reader) io.Reader
	writer  func(io.Writer) (flushWriter, error)
	enabled func(*client)
}

func snappyCompressor() compressor {
	return compressor{
		name:   "snappy",
		reader: func(r io.Reader) io.Reader { return snappy.NewReader(r) },
		writer: func(w io.Writer) (flushWriter, error) {
			// The framed stream's own buffer collects what one flush of
			// the output buffer hands over into as few chunks as possible.
			return snappy.NewBufferedWriter(w), nil
		},
		enabled: func(c *client) { c.snappy.Store(true) },
	}
}

func deflateCompressor(level int) compressor {
	return compressor{
		name:   "deflate",
		reader: func(r io.Reader) io.Reader { return flate.NewReader(r) },
		writer: func(w io.Writer) (flushWriter, error) {
			fw, err := flate.NewWriter(w, level)
			if err != nil {
				return nil, fmt.Errorf("deflate level %d: %w", level, err)
			}
			return fw, nil
		},
		enabled: func(c *client) { c.deflate.Store(true) },
	}
}

// upgradeCompression puts comp between the buffers and the deadline layer,
// in both directions. The caller is the reader goroutine, holding writeMu
// with the output buffer flushed, so neither side has bytes in flight.
func (c *client) upgradeCompression(comp compressor) error {
	fw, err := comp.writer(c.deadlined)
	if err != nil {
		return err
	}
	// Whatever the client sent after IDENTIFY is already compressed: it
	// goes through the decompressor ahead of what the socket still holds.
	var src io.Reader = c.deadlined
	if leftover := c.takeBuffered(); len(leftover) > 0 {
		src = io.MultiReader(bytes.NewReader(leftover), c.deadlined)
	}
	c.reader.Reset(comp.reader(src))
	c.compressor = &compressWriter{w: fw}
	c.writer.Reset(c.compressor)
	comp.enabled(c)
	return nil
}
