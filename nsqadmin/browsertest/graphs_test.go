package browsertest

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

// chartJS is a JavaScript expression reading one chart's attribute.
func chartJS(series, attr string) string {
	return fmt.Sprintf(`Number((document.querySelector('svg.chart[data-series="%s"]')||{getAttribute:function(){return -1;}}).getAttribute(%s))`, series, jsString(attr))
}

func TestGraphsDrawNSQAdminsHistory(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	c := startCluster(t, nil) // history every second
	c.populate(t)

	// The channel page: depth and in-flight as nsqd has them now, one dot
	// per history point.
	ch, ok := c.stats(t).channel("orders", "archive")
	require.True(t, ok)
	b.open(c.url + "/topics/orders/archive")
	for _, series := range []string{"rate", "depth", "in_flight", "e2e_p99_ns"} {
		b.waitJS(series+" with two points", chartJS(series, "data-points")+` >= 2`)
	}
	b.waitJS("a dot per point", `document.querySelectorAll('svg.chart[data-series="depth"] circle.pt').length === `+chartJS("depth", "data-points"))
	b.waitJS("the depth line", `document.querySelector('svg.chart[data-series="depth"] polyline.line').getAttribute('points').split(' ').length >= 2`)
	b.waitJS("depth last point", fmt.Sprintf(`document.querySelector('svg.chart[data-series="depth"]').closest('figure').querySelector('.chart-last').textContent === %s`, jsString(num(ch.Depth))))
	b.waitJS("in-flight last point", fmt.Sprintf(`document.querySelector('svg.chart[data-series="in_flight"]').closest('figure').querySelector('.chart-last').textContent === %s`, jsString(num(ch.InFlightCount))))

	// A topic nobody has published to: its rate graph stays flat until
	// messages come.
	c.nsqdPost(t, "/topic/create", url.Values{"topic": {"signups"}}, "")
	b.open(c.url + "/topics/signups")
	b.waitJS("rate history", chartJS("rate", "data-points")+` >= 2`)
	require.Equal(t, 0.0, eval[float64](b, chartJS("rate", "data-max")), "nothing published, but the rate graph rose")
	for i := 0; i < 20; i++ {
		c.nsqdPost(t, "/pub", url.Values{"topic": {"signups"}}, fmt.Sprint("signup ", i))
	}
	b.waitJS("a rate above zero", chartJS("rate", "data-max")+` > 0`)

	// A consumer that finishes messages gives the e2e latency graph a height.
	tooltest.Consume(t, c.nsqd.TCPAddr(), "orders", "billing").WaitFor(t, ordersMessages)
	b.open(c.url + "/topics/orders/billing")
	b.waitJS("e2e latency above zero", chartJS("e2e_p99_ns", "data-max")+` > 0`)
}
