package statsd

// packer packs newline-terminated statsd lines into datagrams of at
// most size bytes, never splitting a line, as upstream's boundary-buffered
// writer does. Unlike upstream, a line longer than a whole datagram is
// dropped and counted instead of being sent as an oversized datagram that
// the network may fragment or refuse.
type packer struct {
	size    int
	packets [][]byte
	current []byte
	dropped int
}

func newPacker(size int) *packer {
	return &packer{size: size}
}

// add appends one line (including its trailing newline).
func (p *packer) add(line []byte) {
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

func (p *packer) flush() {
	if len(p.current) > 0 {
		p.packets = append(p.packets, p.current)
	}
	p.current = nil
}

// finish returns every datagram, the last partial one included.
func (p *packer) finish() [][]byte {
	p.flush()
	return p.packets
}
