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

// Connect points c at the nsqds or the lookupds given. Unreachable ones
// are not an error here: the consumer logs each failure and keeps
// retrying, as go-nsq does.
func Connect(c *nsqclient.Consumer, nsqdTCP, lookupdHTTP []string) error {
	if len(nsqdTCP) > 0 {
		if err := c.ConnectToNSQD(nsqdTCP...); err != nil {
			return fmt.Errorf("connect to nsqd: %w", err)
		}
	}
	if len(lookupdHTTP) > 0 {
		if err := c.ConnectToNSQLookupd(lookupdHTTP...); err != nil {
			return fmt.Errorf("connect to nsqlookupd: %w", err)
		}
	}
	return nil
}
