// nsqadmin app
