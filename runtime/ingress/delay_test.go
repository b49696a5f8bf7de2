package ingress

import (
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestParseDelay(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		in   string
		want time.Duration
		err  string // a part of the error; empty when in parses
	}{
		{in: "1500ms", want: 1500 * time.Millisecond},
		{in: "0", want: 0},
		{in: "PT0S", want: 0},
		{in: "PT1M30S", want: 90 * time.Second},
		{in: "P1DT2H3M4.5S", want: day + 2*time.Hour + 3*time.Minute + 4500*time.Millisecond},
		{in: "PT0.1S", want: 100 * time.Millisecond},
		{in: "PT1.0000000019S", want: time.Second + time.Nanosecond}, // past nanoseconds: dropped
		{in: "87600h", want: MaxDelay},
		{in: "P3650D", want: MaxDelay},
		{in: "P3649DT23H59M60S", want: MaxDelay},
		{in: "PT315360000S", want: MaxDelay},

		// Past the limit, and past what int64 nanoseconds hold: refused, never wrapped.
		{in: "87600h0m0.000000001s", err: "limit of 3650 days"},
		{in: "P3651D", err: "limit of 3650 days"},
		{in: "P3650DT0.000000001S", err: "limit of 3650 days"},
		{in: "P3650DT1S", err: "limit of 3650 days"},
		{in: "P99999999999D", err: "limit of 3650 days"},
		{in: "P106751D", err: "limit of 3650 days"}, // just past int64 nanoseconds
		{in: "P99999999999999999999999D", err: "limit of 3650 days"},
		{in: "PT99999999999H", err: "limit of 3650 days"},
		{in: "PT9999999999999M", err: "limit of 3650 days"},
		{in: "PT9223372036S", err: "limit of 3650 days"},
		{in: "PT9223372037S", err: "limit of 3650 days"},
		{in: "PT" + strings.Repeat("9", 400) + "S", err: "limit of 3650 days"},
		{in: "PT" + strings.Repeat("9", 400) + ".5S", err: "limit of 3650 days"},
		{in: "P3000DT20000H", err: "limit of 3650 days"}, // each part fits, the sum does not
		{in: "2562048h", err: "limit of 3650 days"},      // past int64 nanoseconds
		{in: "99999999999999999999h", err: "limit of 3650 days"},
		{in: "9223372036854775808ns", err: "limit of 3650 days"},
		{in: "-99999999999999999999h", err: "negative"},
		{in: "-1s", err: "negative"},

		// Malformed.
		{in: "soon", err: "ISO-8601"},
		{in: "PT1e400S", err: "ISO-8601"},
		{in: "P", err: "ISO-8601"},
		{in: "PT", err: "ISO-8601"},
		{in: "P-1D", err: "ISO-8601"},
		{in: "10", err: "ISO-8601"},
		{in: "1.5.5s", err: "ISO-8601"},
	}
	for _, c := range cases {
		t.Run(c.in[:min(len(c.in), 40)], func(t *testing.T) {
			got, err := parseDelay(c.in)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("parseDelay(%q) = %v, %v; want %v", c.in, got, err, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("parseDelay(%q) = %v, %v; want an error containing %q", c.in, got, err, c.err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", c.in)) {
				t.Errorf("the error %q does not name the delay", err)
			}
		})
	}
}

// TestParseDelayISOProperty checks ISO-8601 delays of any size against exact arithmetic: each
// either parses to its exact value, at most MaxDelay, or is refused naming the limit.
func TestParseDelayISOProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Digit strings of every size, from 0 to far past int64.
		digits := rapid.StringMatching(`[0-9]{1,25}`)
		var b strings.Builder
		exact := new(big.Int)
		b.WriteString("P")
		add := func(s string, unit time.Duration) {
			n, _ := new(big.Int).SetString(s, 10)
			exact.Add(exact, n.Mul(n, big.NewInt(int64(unit))))
		}
		if rapid.Bool().Draw(t, "days") {
			s := digits.Draw(t, "D")
			b.WriteString(s + "D")
			add(s, 24*time.Hour)
		}
		b.WriteString("T")
		for _, u := range []struct {
			name string
			unit time.Duration
		}{{"H", time.Hour}, {"M", time.Minute}, {"S", time.Second}} {
			if rapid.Bool().Draw(t, u.name) {
				s := digits.Draw(t, u.name)
				b.WriteString(s + u.name)
				add(s, u.unit)
			}
		}
		in := b.String()
		if strings.HasSuffix(in, "T") {
			in += "0S"
		}
		got, err := parseDelay(in)
		if exact.Cmp(big.NewInt(int64(MaxDelay))) > 0 {
			if err == nil || !strings.Contains(err.Error(), "limit of 3650 days") {
				t.Fatalf("parseDelay(%q) = %v, %v; want the limit error", in, got, err)
			}
			return
		}
		if err != nil || int64(got) != exact.Int64() {
			t.Fatalf("parseDelay(%q) = %v, %v; want %v", in, got, err, time.Duration(exact.Int64()))
		}
	})
}

// TestDecodeDelayLimit shows the limit at the door: 400 with the limit in the message.
func TestDecodeDelayLimit(t *testing.T) {
	for _, delay := range []string{"P99999999999D", "PT99999999999999999999S", "99999999999999999999h", "P3651D"} {
		r := httptest.NewRequest(http.MethodPost, "/Greeter/greet/send?delay="+delay, nil)
		_, err := Decode(r, nil)
		if err == nil || err.Status != http.StatusBadRequest || !strings.Contains(err.Message, "limit of 3650 days") {
			t.Errorf("delay %s: got %v, want 400 naming the limit", delay, err)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/Greeter/greet/send?delay=P3650D", nil)
	req, err := Decode(r, nil)
	if err != nil || req.Delay != MaxDelay {
		t.Errorf("delay P3650D: got %v, %v; want MaxDelay", req.Delay, err)
	}
}
