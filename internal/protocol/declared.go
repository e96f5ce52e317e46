package protocol

import "io"

// DeclaredChunk is the most ReadDeclared allocates ahead of the bytes
// received, so that a peer that declares 5 MB and sends one byte costs one
// chunk (README, "Memory a client controls").
const DeclaredChunk = 64 << 10

// ReadDeclared appends n bytes read from r to dst, for a body whose size a
// peer declared (a V2 command's size field, an HTTP Content-Length). Room
// is added as bytes arrive, never more than DeclaredChunk or the length
// already read at a time, and never beyond sizeHint (what the sender
// declared) unless the bytes keep coming. It returns io.ErrUnexpectedEOF
// (or r's error) when the bytes stop short. Each new allocation is handed
// to fresh (when not nil) before anything is written into it: nsqd advises
// it for huge pages there (internal/hugepage).
func ReadDeclared(fresh func([]byte), r io.Reader, dst []byte, n, sizeHint int) ([]byte, error) {
	end := len(dst) + n
	for len(dst) < end {
		if len(dst) == cap(dst) {
			room := len(dst) + max(len(dst), DeclaredChunk)
			room = min(room, max(sizeHint, end))
			grown := make([]byte, len(dst), room)
			if fresh != nil {
				fresh(grown)
			}
			copy(grown, dst)
			dst = grown
		}
		next := min(cap(dst), end)
		got, err := io.ReadFull(r, dst[len(dst):next])
		dst = dst[:len(dst)+got]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
	return dst, nil
}
