package queue

import (
	"unsafe"

	"github.com/nsqgo/nsq/internal/diskqueue"
)

// Frames is a fan-out's batch encoded once, as disk records framed for a
// segment (diskqueue.Framed), for every channel that writes it to its own
// disk: once the channels' memory is full, each of them stores each message
// of the batch, and without Frames each would encode and checksum all of it
// again. A channel's Pending that was given the Frames (UseFrames) writes
// the part of its disk work that is a run of the framed messages with
// diskqueue's PutFramed; anything else it encodes itself, as before.
//
// The caller (a topic's fan-out) fills a Frames with Frame before it hands
// the Pendings to their commits, and changes it again only once every one of
// them has been committed.
type Frames struct {
	msgs   []Message // the records framed: the fan-out's shared copies
	framed diskqueue.Framed
	batch  messageBatch
}

// MaxFramedBytes bounds the batches worth framing once: a larger batch (an
// MPUB of big bodies) is encoded by each channel's writer piece by piece
// (internal/diskqueue's writePiece), rather than copied whole into a
// buffer of its size first.
const MaxFramedBytes = 1 << 20

// Frame encodes msgs, which must stay unchanged while the Frames is in use.
// It reports false, with nothing framed, when the batch is over
// MaxFramedBytes or cannot be framed; the Pendings then encode their own.
func (f *Frames) Frame(msgs []Message) bool {
	f.Reset()
	size := 0
	for i := range msgs {
		if size += RecordSize(&msgs[i]); size > MaxFramedBytes {
			return false
		}
	}
	f.batch.msgs = msgs
	err := f.framed.Frame(&f.batch)
	f.batch.msgs = nil
	if err != nil {
		f.framed.Reset()
		return false
	}
	f.msgs = msgs
	return true
}

// Reset forgets the batch framed, keeping the memory.
func (f *Frames) Reset() {
	f.msgs = nil
	f.framed.Reset()
}

// locate reports where msgs are among the framed messages, when they are a
// run of them that ends with the batch (a channel stores on disk what its
// memory has no room for: the batch's tail, queue.go's enqueueFrom). Each
// message must be the same record the frame holds: same ID, times,
// attempts and body memory.
func (f *Frames) locate(msgs []Message) (from int, ok bool) {
	from = len(f.msgs) - len(msgs)
	if len(msgs) == 0 || from < 0 {
		return 0, false
	}
	for i := range msgs {
		if !sameRecord(&msgs[i], &f.msgs[from+i]) {
			return 0, false
		}
	}
	return from, true
}

// sameRecord reports whether a and b encode to the same disk record
// (AppendRecord): their fields are equal and their bodies are the same
// memory, which nothing writes while a fan-out runs.
func sameRecord(a, b *Message) bool {
	return a.ID == b.ID && a.Timestamp == b.Timestamp && a.DeliverAt == b.DeliverAt &&
		a.Attempts == b.Attempts && len(a.Body) == len(b.Body) &&
		(len(a.Body) == 0 || unsafe.SliceData(a.Body) == unsafe.SliceData(b.Body))
}

// UseFrames makes p's disk writes take their records from f where they
// can (Pending.write). f must stay unchanged until p has been committed.
func (p *Pending) UseFrames(f *Frames) {
	if p != nil {
		p.frames = f
	}
}

// DiskRecords is how many records p's commit will write to disk.
func (p *Pending) DiskRecords() int {
	if p == nil {
		return 0
	}
	return len(p.backlog) + len(p.store)
}

// framedPutter is a Disk that stores framed records (*diskqueue.Queue).
type framedPutter interface {
	PutFramed(f *diskqueue.Framed, from, to int) (first uint64, err error)
}

// putFramed writes msgs from p's Frames when they are a run of it and d
// stores framed records; ok is false when it did not write.
func (p *Pending) putFramed(d Disk, msgs []Message) (first uint64, ok bool, err error) {
	if p.frames == nil {
		return 0, false, nil
	}
	fp, isFramed := d.(framedPutter)
	if !isFramed {
		return 0, false, nil
	}
	from, found := p.frames.locate(msgs)
	if !found {
		return 0, false, nil
	}
	first, err = fp.PutFramed(&p.frames.framed, from, from+len(msgs))
	return first, true, err
}
