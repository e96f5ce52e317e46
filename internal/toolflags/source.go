package toolflags

import (
	"errors"
	"fmt"

	"github.com/nsqgo/nsq/internal/nsqclient"
)

// CheckSource validates where a consumer reads from: exactly one of
// --nsqd-tcp-address and --lookupd-http-address, with upstream's messages.
func CheckSource(nsqdTCP, lookupdHTTP []string) error {
	switch {
	case len(nsqdTCP) == 0 && len(lookupdHTTP) == 0:
		return errors.New("--nsqd-tcp-address or --lookupd-http-address required")
	case len(nsqdTCP) > 0 && len(lookupdHTTP) > 0:
		return errors.New("use --nsqd-tcp-address or --lookupd-http-address not both")
	}
	return nil
}

// Connect points c at the nsqds or the lookupds given. An nsqd given
// directly must answer at once, as upstream's tools require (go-nsq's
// ConnectToNSQD dials before it returns): the first that cannot be reached
// is returned, and the tool exits 1 rather than wait for it. A lookupd
// that cannot be reached is logged and polled again, as upstream.
func Connect(c *nsqclient.Consumer, nsqdTCP, lookupdHTTP []string) error {
	if len(nsqdTCP) > 0 {
		if err := c.ConnectToNSQDNow(nsqdTCP...); err != nil {
			return err
		}
	}
	if len(lookupdHTTP) > 0 {
		if err := c.ConnectToNSQLookupd(lookupdHTTP...); err != nil {
			return fmt.Errorf("connect to nsqlookupd: %w", err)
		}
	}
	return nil
}
