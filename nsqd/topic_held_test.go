package nsqd

// The held messages' own scenarios are transcripts in nsqd/queue
// (testdata/held*.txt, for nsqd/queue's Held); the topic's use of them is
// tested in topic_drain_test.go, bound_test.go and the lifecycle tests.

func messagesOf(bodies ...string) []Message {
	msgs := make([]Message, len(bodies))
	for i, b := range bodies {
		msgs[i].Body = []byte(b)
	}
	return msgs
}
