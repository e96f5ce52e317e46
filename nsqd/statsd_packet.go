package nsqd

// statsdPacker packs newline-terminated statsd lines into datagrams of at
// most size bytes, never splitting a line, as upstream's boundary-buffered
// writer does. Unlike upstream, a line longer than a whole datagram is
// dropped and counted instead of being sent as an oversized datagram that
// the network may fragment or refuse.
type statsdPacker struct {
	size    int
	packets [][]byte
	current []byte
	dropped int
}

func newStatsdPacker(size int) *statsdPacker {
	return &statsdPacker{size: size}
}

// add appends one line (including its trailing newline).
func (p *statsdPacker) add(line []byte) {
	if len(line) > p.size {
		p.dropped++
		return
	}
	if len(p.current)+len(line) > p.size {
		p.flush()
	}
	if p.current == nil {
		p.current = make([]byte, 0, p.size)
	}
	p.current = append(p.current, line...)
}

func (p *statsdPacker) flush() {
	if len(p.current) > 0 {
		p.packets = append(p.packets, p.current)
	}
	p.current = nil
}

// finish returns every datagram, the last partial one included.
func (p *statsdPacker) finish() [][]byte {
	p.flush()
	return p.packets
}
