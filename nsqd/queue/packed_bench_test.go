package queue

import "testing"

// BenchmarkPackedFanOut3 is BenchmarkReadyRingFanOut3 with bodies as a
// socket's batches have them (one after another in a slab,
// nsqd/body_alloc.go: "slab"), or each apart ("apart": every entry needs
// its length stored, packed.go): a batch of 200 packed, queued in three
// rings and taken out of each.
func BenchmarkPackedFanOut3(b *testing.B) {
	for _, layout := range []string{"slab", "apart"} {
		b.Run(layout, func(b *testing.B) {
			var rings [3]readyRing
			var recs SharedRecords
			batch := publishedBatch(0, 200, 1)
			slab := make([]byte, 200*201)
			for i := range batch {
				at := i * 200
				if layout == "apart" {
					at += i // a byte between bodies
				}
				batch[i].Body = slab[at : at+200 : at+200]
			}
			dst := make([]Message, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				shared := recs.Copy(batch)
				for i := range rings {
					rings[i].PushShared(shared)
					dst = rings[i].PopInto(dst[:0], 200)
				}
				shared.Release()
			}
		})
	}
}

// BenchmarkPackCopy is SharedRecords.Copy of a batch of 200 bodies in a
// slab, checking every ID, against CopyPublished, which reads back only
// the first and last (one op is one batch, released at once).
func BenchmarkPackCopy(b *testing.B) {
	batch := publishedBatch(0, 200, 1)
	slab := make([]byte, 200*200)
	for i := range batch {
		batch[i].Body = slab[i*200 : (i+1)*200 : (i+1)*200]
	}
	for _, published := range []bool{false, true} {
		name := "Copy"
		if published {
			name = "CopyPublished"
		}
		b.Run(name, func(b *testing.B) {
			var recs SharedRecords
			for b.Loop() {
				var s Shared
				if published {
					s = recs.CopyPublished(batch, 0)
				} else {
					s = recs.Copy(batch)
				}
				if s.pack == nil {
					b.Fatal("not packed")
				}
				s.Release()
			}
		})
	}
}
