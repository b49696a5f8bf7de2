package sim

import (
	"strconv"
	"time"
)

// appendDuration appends d as d.String() writes it ("1h2m3.5s", "1.5ms", "0s"), without the
// allocation of the string: the fault events' reasons (a pause's length, a clock step's offsets)
// are written in the client room's text instead, a run's worth in one chunk.
func appendDuration(b []byte, d time.Duration) []byte {
	u := uint64(d)
	if d < 0 {
		b = append(b, '-')
		u = -u // the magnitude, exact even for the most negative Duration
	}
	switch {
	case u == 0:
		return append(b, "0s"...)
	case u < uint64(time.Microsecond):
		return append(strconv.AppendUint(b, u, 10), "ns"...)
	case u < uint64(time.Millisecond):
		return append(appendDecimal(b, u, 3), "\u00b5s"...) // µ, U+00B5, as time writes it
	case u < uint64(time.Second):
		return append(appendDecimal(b, u, 6), "ms"...)
	}
	secs, frac := u/uint64(time.Second), u%uint64(time.Second)
	h, m, s := secs/3600, secs/60%60, secs%60
	if h > 0 {
		b = append(strconv.AppendUint(b, h, 10), 'h')
	}
	if secs >= 60 {
		b = append(strconv.AppendUint(b, m, 10), 'm')
	}
	b = strconv.AppendUint(b, s, 10)
	if frac > 0 {
		b = appendFraction(b, frac, 9)
	}
	return append(b, 's')
}

// appendDecimal appends v / 10^digits as a decimal, its fraction without trailing zeros and
// without the point when it is whole.
func appendDecimal(b []byte, v uint64, digits int) []byte {
	p := uint64(1)
	for range digits {
		p *= 10
	}
	b = strconv.AppendUint(b, v/p, 10)
	if f := v % p; f > 0 {
		b = appendFraction(b, f, digits)
	}
	return b
}

// appendFraction appends '.' and f, a fraction of digits decimal places (0 < f < 10^digits),
// zero-padded on the left and without its trailing zeros.
func appendFraction(b []byte, f uint64, digits int) []byte {
	for f%10 == 0 {
		f /= 10
		digits--
	}
	b = append(b, '.')
	start := len(b)
	for range digits {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= start; i-- {
		b[i] = byte('0' + f%10)
		f /= 10
	}
	return b
}

// durationReason returns prefix followed by d as d.String() writes it, in the client room's text.
func (r *clientRoom) durationReason(prefix string, d time.Duration) string {
	var buf [64]byte
	return r.textOf(appendDuration(append(buf[:0], prefix...), d))
}

// stepReason returns "offset FROM -> TO", as fmt's "offset %v -> %v" writes it for the two
// Durations, in the client room's text.
func (r *clientRoom) stepReason(from, to time.Duration) string {
	var buf [80]byte
	b := appendDuration(append(buf[:0], "offset "...), from)
	return r.textOf(appendDuration(append(b, " -> "...), to))
}
