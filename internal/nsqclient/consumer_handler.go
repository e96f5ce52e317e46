package nsqclient

// handlerLoop runs h on messages until the consumer has stopped and every
// message handed over has been handled.
func (c *Consumer) handlerLoop(h Handler) {
	defer c.handlersWG.Done()
	for m := range c.incoming {
		if c.opts.MaxAttempts > 0 && m.Attempts > c.opts.MaxAttempts {
			c.logf(warnLevel, "msg %s attempted %d times, giving up", m.ID[:], m.Attempts)
			if logger, ok := h.(FailedMessageLogger); ok {
				logger.LogFailedMessage(m)
			}
			m.Finish()
			continue
		}
		err := h.HandleMessage(m)
		if err != nil {
			c.logf(errorLevel, "Handler returned error (%s) for msg %s", err, m.ID[:])
		}
		if m.IsAutoResponseDisabled() {
			continue
		}
		if err != nil {
			m.Requeue(-1)
		} else {
			m.Finish()
		}
	}
}
