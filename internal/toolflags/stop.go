package toolflags

import "github.com/nsqgo/nsq/internal/nsqclient"

// StopConsumers stops every consumer gracefully, all at once, and waits
// until each is done. Each consumer bounds its own wait by its
// StopTimeout, so this cannot hang on a stuck nsqd.
func StopConsumers(consumers []*nsqclient.Consumer) {
	for _, c := range consumers {
		c.Stop()
	}
	for _, c := range consumers {
		<-c.Done()
	}
}
