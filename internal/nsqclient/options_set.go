package nsqclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// SetFlag applies one --consumer-opt / --producer-opt value: "name,value",
// or just "name" to set a boolean option to true.
func (o *Options) SetFlag(opt string) error {
	name, value, hasValue := strings.Cut(opt, ",")
	if !hasValue {
		value = "true"
	}
	return o.Set(name, value)
}

// Set sets the option of go-nsq's name (dashes may stand for
// underscores) from its text form: durations in Go syntax ("250ms"),
// booleans as strconv.ParseBool reads them. Values outside go-nsq's range
// are rejected with go-nsq's message.
func (o *Options) Set(name, value string) error {
	name = strings.ReplaceAll(name, "-", "_")
	if err := o.set(name, value); err != nil {
		return fmt.Errorf("option %s: %w", name, err)
	}
	return nil
}

func (o *Options) set(name, value string) error {
	switch name {
	case "dial_timeout":
		return setDuration(&o.DialTimeout, value, 0, 0)
	case "read_timeout":
		return setDuration(&o.ReadTimeout, value, 100*time.Millisecond, 5*time.Minute)
	case "write_timeout":
		return setDuration(&o.WriteTimeout, value, 100*time.Millisecond, 5*time.Minute)
	case "lookupd_poll_interval":
		return setDuration(&o.LookupdPollInterval, value, 10*time.Millisecond, 5*time.Minute)
	case "lookupd_poll_jitter":
		return setFloat(&o.LookupdPollJitter, value, 0, 1)
	case "lookupd_poll_timeout":
		return setDuration(&o.LookupdPollTimeout, value, 0, 0)
	case "max_requeue_delay":
		return setDuration(&o.MaxRequeueDelay, value, 0, 60*time.Minute)
	case "default_requeue_delay":
		return setDuration(&o.DefaultRequeueDelay, value, 0, 60*time.Minute)
	case "backoff_strategy":
		switch value {
		case "", BackoffExponential:
			o.BackoffStrategy = BackoffExponential
		case BackoffFullJitter:
			o.BackoffStrategy = BackoffFullJitter
		default:
			return fmt.Errorf("invalid backoff strategy %q", value)
		}
		return nil
	case "max_backoff_duration":
		return setDuration(&o.MaxBackoffDuration, value, 0, 60*time.Minute)
	case "backoff_multiplier":
		return setDuration(&o.BackoffMultiplier, value, 0, 60*time.Minute)
	case "max_attempts":
		return setInt(&o.MaxAttempts, value, 0, 65535)
	case "low_rdy_idle_timeout":
		return setDuration(&o.LowRdyIdleTimeout, value, time.Second, 5*time.Minute)
	case "low_rdy_timeout":
		return setDuration(&o.LowRdyTimeout, value, time.Second, 5*time.Minute)
	case "rdy_redistribute_interval":
		return setDuration(&o.RDYRedistributeInterval, value, time.Millisecond, 5*time.Second)
	case "client_id":
		o.ClientID = value
	case "hostname":
		o.Hostname = value
	case "user_agent":
		o.UserAgent = value
	case "heartbeat_interval":
		return setDuration(&o.HeartbeatInterval, value, 0, 0)
	case "sample_rate":
		return setInt(&o.SampleRate, value, 0, 99)
	case "tls_v1":
		return setBool(&o.TLSv1, value)
	case "deflate":
		return setBool(&o.Deflate, value)
	case "deflate_level":
		return setInt(&o.DeflateLevel, value, 1, 9)
	case "snappy":
		return setBool(&o.Snappy, value)
	case "output_buffer_size":
		return setInt(&o.OutputBufferSize, value, -1, 1<<62)
	case "output_buffer_timeout":
		return setDuration(&o.OutputBufferTimeout, value, 0, 0)
	case "max_in_flight":
		return setInt(&o.MaxInFlight, value, 0, 1<<31-1)
	case "msg_timeout":
		return setDuration(&o.MsgTimeout, value, 0, 0)
	case "auth_secret":
		o.AuthSecret = value
	case "tls_root_ca_file", "tls_insecure_skip_verify", "tls_cert", "tls_key", "tls_min_version":
		return o.setTLS(name, value)
	default:
		return fmt.Errorf("unknown option")
	}
	return nil
}

// setTLS builds TLSConfig piecewise, as go-nsq does, so the options can
// come in any order.
func (o *Options) setTLS(name, value string) error {
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS10}
	}
	cfg := o.TLSConfig
	switch name {
	case "tls_insecure_skip_verify":
		return setBool(&cfg.InsecureSkipVerify, value)
	case "tls_root_ca_file":
		pem, err := os.ReadFile(value)
		if err != nil {
			return fmt.Errorf("failed to read custom Certificate Authority file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("failed to append certificates from Certificate Authority file %s", value)
		}
		cfg.RootCAs = pool
	case "tls_cert", "tls_key":
		// The pair is loaded once both halves are known, whichever
		// option comes first.
		if name == "tls_cert" {
			o.tlsCertFile = value
		} else {
			o.tlsKeyFile = value
		}
		if o.tlsCertFile != "" && o.tlsKeyFile != "" {
			cert, err := tls.LoadX509KeyPair(o.tlsCertFile, o.tlsKeyFile)
			if err != nil {
				return fmt.Errorf("load TLS key pair: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
	case "tls_min_version":
		switch value {
		case "ssl3.0", "tls1.0":
			cfg.MinVersion = tls.VersionTLS10
		case "tls1.1":
			cfg.MinVersion = tls.VersionTLS11
		case "tls1.2":
			cfg.MinVersion = tls.VersionTLS12
		case "tls1.3":
			cfg.MinVersion = tls.VersionTLS13
		default:
			return fmt.Errorf("unknown tls_min_version %q", value)
		}
	}
	return nil
}

func setDuration(dst *time.Duration, value string, lo, hi time.Duration) error {
	d, err := time.ParseDuration(value)
	if err != nil {
		return err
	}
	if d < lo {
		return fmt.Errorf("invalid value ! %v < %v", d, lo)
	}
	if hi > 0 && d > hi {
		return fmt.Errorf("invalid value ! %v > %v", d, hi)
	}
	*dst = d
	return nil
}

func setFloat(dst *float64, value string, lo, hi float64) error {
	f, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return err
	}
	if f < lo || f > hi {
		return fmt.Errorf("invalid value ! %v not in [%v,%v]", f, lo, hi)
	}
	*dst = f
	return nil
}

func setBool(dst *bool, value string) error {
	b, err := strconv.ParseBool(value)
	if err != nil {
		return err
	}
	*dst = b
	return nil
}

// setInt parses an integer option and stores it only when it is in range.
func setInt[T ~int | ~int32 | ~int64 | ~uint16](dst *T, value string, lo, hi int64) error {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return err
	}
	if n < lo {
		return fmt.Errorf("invalid value ! %d < %d", n, lo)
	}
	if n > hi {
		return fmt.Errorf("invalid value ! %d > %d", n, hi)
	}
	*dst = T(n)
	return nil
}
