package nsqd

import (
	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// diskBackend adapts the disk queue to BackendQueue (the topic's backlog; a
// channel's is in nsqd/queue): it encodes a batch into one buffer and hands
// it to the queue as one grouped write. Its owner calls it under its own
// lock, so the scratch buffers need no lock of their own.
type diskBackend struct {
	queue   *diskqueue.Queue
	nsqd    *NSQD
	name    string
	encoded []byte
	records [][]byte
}

// openDiskBackend opens the queue named as upstream names it: "<topic>" for
// a topic ("<topic>:<channel>" for a channel's, in nsqd/queue).
func (n *NSQD) openDiskBackend(name string) (*diskBackend, error) {
	opts := n.diskQueueOptions()
	opts.Name = name
	queue, err := diskqueue.Open(opts)
	if err != nil {
		return nil, err
	}
	return &diskBackend{queue: queue, nsqd: n, name: name}, nil
}

// diskQueueOptions are the disk queue settings every topic and channel
// shares; the name is the queue's own.
func (n *NSQD) diskQueueOptions() diskqueue.Options {
	return diskqueue.Options{
		Dir:             n.dataPath(),
		MaxBytesPerFile: n.opts.MaxBytesPerFile,
		MinMsgSize:      protocol.MessageHeaderLength,
		MaxMsgSize:      int32(n.opts.MaxMsgSize) + protocol.MessageHeaderLength + diskRecordHeader,
		SyncEvery:       n.opts.SyncEvery,
		SyncTimeout:     n.opts.SyncTimeout,
		SyncObserver:    n.metrics.fsync.observe,
		Logf: func(format string, args ...any) {
			n.logf(warnLevel, format, args...)
		},
	}
}

func (d *diskBackend) Put(msgs []Message) error {
	d.encoded = d.encoded[:0]
	for i := range msgs {
		d.encoded = queue.AppendRecord(d.encoded, &msgs[i])
	}
	// Slice the records out only now: appending may have moved the buffer.
	d.records = d.records[:0]
	start := 0
	for i := range msgs {
		end := start + diskRecordHeader + protocol.MessageHeaderLength + len(msgs[i].Body)
		d.records = append(d.records, d.encoded[start:end:end])
		start = end
	}
	_, err := d.queue.Put(d.records)
	clear(d.records)
	d.nsqd.recordWrite(err)
	return err
}

// ReadInto moves up to max messages from disk into dst, and the Seq of
// each record into seqs, without blocking. A record that cannot be decoded
// is logged and skipped.
func (d *diskBackend) ReadInto(dst []Message, seqs []uint64, max int) ([]Message, []uint64, error) {
	records, err := d.queue.Read(max)
	for _, r := range records {
		m, decodeErr := queue.DecodeRecord(r.Data, r.Legacy)
		if decodeErr != nil {
			d.nsqd.logf(errorLevel, "DISKQUEUE(%s): failed to decode message - %s", d.name, decodeErr)
			d.queue.Ack(r.Seq)
			continue
		}
		dst = append(dst, m)
		seqs = append(seqs, r.Seq)
	}
	return dst, seqs, err
}

func (d *diskBackend) Ack(seqs ...uint64) { d.queue.Ack(seqs...) }
func (d *diskBackend) Depth() int64       { return d.queue.Depth() }
func (d *diskBackend) Empty() error       { return d.queue.Empty() }
func (d *diskBackend) Close() error       { return d.queue.Close() }
func (d *diskBackend) Delete() error      { return d.queue.Delete() }

// Stats exposes the queue's damage and error counters for /stats.
func (d *diskBackend) Stats() diskqueue.Stats { return d.queue.Stats() }
