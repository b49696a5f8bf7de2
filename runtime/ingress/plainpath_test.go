package ingress

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestPlainPathIsBytewise holds plainPath, which reads eight bytes a round, to its definition
// byte by byte, for paths of any length with any byte anywhere (a planted mark missing from
// one of the eight lanes fails it).
func TestPlainPathIsBytewise(t *testing.T) {
	plain := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/-_.~!$&'()*+,;=:@", c) >= 0
	}
	// Every length up to three rounds and a tail, one byte that is not plain at each place.
	for n := range 27 {
		b := []byte(strings.Repeat("aZ9/-~@:", 4)[:n])
		if !plainPath(string(b)) {
			t.Fatalf("plainPath(%q) = false, want true", b)
		}
		for at := range n {
			for _, c := range []byte{'%', ' ', '?', '#', 0x7f, 0x80, 0xff, 0} {
				was := b[at]
				b[at] = c
				if plainPath(string(b)) {
					t.Fatalf("plainPath(%q) = true, want false", b)
				}
				b[at] = was
			}
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 40).Draw(t, "n")
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(i%26)
		}
		// Zero or more bytes anywhere set to any value, plain or not.
		for range rapid.IntRange(0, 3).Draw(t, "changes") {
			if n > 0 {
				b[rapid.IntRange(0, n-1).Draw(t, "at")] = rapid.Byte().Draw(t, "byte")
			}
		}
		want := true
		for _, c := range b {
			want = want && plain(c)
		}
		if got := plainPath(string(b)); got != want {
			t.Fatalf("plainPath(%q) = %v, want %v", b, got, want)
		}
	})
}
