package nsqclient

// Stop ends the consumer gracefully, like go-nsq: every connection is sent
// CLS, and once nsqd answers CLOSE_WAIT and the connection's in-flight
// messages have been finished or requeued, it is closed. Reconnection and
// discovery stop at once. Connections still open after StopTimeout are
// closed. Done is closed when every connection and handler has finished.
// Stop does not wait; it is safe to call more than once.
func (c *Consumer) Stop() {
	cls := c.beginStop()
	for _, cc := range cls {
		c.logf(infoLevel, "(%s) sending CLS", cc.addr)
		if err := cc.conn.send(appendCls); err != nil {
			cc.conn.close()
		}
	}
}

// Close ends the consumer at once: connections are closed without waiting
// for in-flight messages, which nsqd will deliver again after their
// timeout. Use it when those messages must not be acknowledged (a fatal
// error). Done is closed once the handlers return.
func (c *Consumer) Close() {
	c.beginStop()
	c.forceClose()
}

// Done is closed when the consumer has fully stopped.
func (c *Consumer) Done() <-chan struct{} { return c.doneCh }

// beginStop marks the consumer stopping, stops reconnection and starts
// the finisher, the first time; it returns the connections to send CLS.
func (c *Consumer) beginStop() []*consumerConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return nil
	}
	c.stopping = true
	close(c.stopCh)
	c.cancel()
	var cls []*consumerConn
	for cc := range c.conns {
		if !cc.closing {
			cc.closing = true
			cls = append(cls, cc)
		}
	}
	go c.finish()
	return cls
}

// forceClose closes every connection; readers then drop what they cannot
// hand to the handlers.
func (c *Consumer) forceClose() {
	c.mu.Lock()
	if !c.forced {
		c.forced = true
		close(c.forceCh)
	}
	conns := make([]*consumerConn, 0, len(c.conns))
	for cc := range c.conns {
		conns = append(conns, cc)
	}
	c.mu.Unlock()
	for _, cc := range conns {
		cc.conn.close()
	}
}

// finish waits for the connections to drain (closing them at
// StopTimeout), then for the handlers and the background goroutines, and
// closes Done. Stop starts it; Done marks its end.
func (c *Consumer) finish() {
	drained := make(chan struct{})
	go func() {
		c.targetsWG.Wait()
		close(drained)
	}()
	timer := c.clock.NewTimer(c.opts.StopTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C():
		c.logf(warnLevel, "connections still open after %s, closing them", c.opts.StopTimeout)
		c.forceClose()
		<-drained
	}
	close(c.incoming)
	c.handlersWG.Wait()
	c.bgWG.Wait()
	c.lookupd.Close()
	close(c.doneCh)
}
