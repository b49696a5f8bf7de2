package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/vigilsim/vigil/runtime/store"
)

// Damage flips one bit of the value stored under key in s, as a disk error at rest would, and
// returns the store to go on with: s itself, or a store reopened on the same data (then s is
// closed). bit counts from the first stored byte's lowest bit, modulo the stored bits.
type Damage func(t *testing.T, s store.Store, key string, bit int) store.Store

// RunChecksum runs the checksum part of the contract: a value damaged at rest is never returned
// as data; Get fails naming its key; Scan and Load skip it, return the rest, and report it; the
// store stays usable and a new write to the key heals it. open is as for Run; damage damages a
// synced value.
func RunChecksum(t *testing.T, open func(t *testing.T) store.Store, damage Damage) {
	// Bits in the value's first byte, its last byte, and the checksum trailer.
	for _, bit := range []int{0, 7, 8*len("value-b") - 1, 8 * len("value-b"), 8*(len("value-b")+store.ChecksumBytes) - 1} {
		t.Run("", func(t *testing.T) {
			s := open(t)
			apply(t, s, store.Batch{{Key: "a", Value: []byte("value-a")}, {Key: "b", Value: []byte("value-b")}, {Key: "c", Value: []byte("value-c")}})
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			s = damage(t, s, "b", bit)
			defer func() { _ = s.Close() }()

			v, ok, err := s.Get("b")
			var ce *store.ChecksumError
			if !errors.Is(err, store.ErrChecksum) || !errors.As(err, &ce) || ce.Key != "b" || ok || v != nil {
				t.Fatalf("Get(damaged) = %q, %v, %v; want no value and a *ChecksumError for %q", v, ok, err, "b")
			}
			if v, ok, err := s.Get("a"); err != nil || !ok || string(v) != "value-a" {
				t.Fatalf("Get(a) = %q, %v, %v", v, ok, err)
			}
			for _, scan := range []struct {
				name string
				run  func(fn func(string, []byte) error) error
			}{
				{"Scan", func(fn func(string, []byte) error) error { return s.Scan("", fn) }},
				{"Load", s.Load},
			} {
				var keys []string
				err := scan.run(func(k string, v []byte) error {
					if string(v) != "value-"+k {
						t.Errorf("%s passed %q = %q", scan.name, k, v)
					}
					keys = append(keys, k)
					return nil
				})
				if !slices.Equal(keys, []string{"a", "c"}) {
					t.Errorf("%s passed %q, want the undamaged [a c]", scan.name, keys)
				}
				bad := store.ChecksumErrors(err)
				if len(bad) != 1 || bad[0].Key != "b" || store.ExceptChecksum(err) != nil {
					t.Errorf("%s = %v, want one *ChecksumError, for %q", scan.name, err, "b")
				}
			}
			// An error of fn stops the scan and comes back with the damage met before it.
			stop := errors.New("stop")
			err = s.Scan("", func(k string, _ []byte) error {
				if k == "c" {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) || !errors.Is(err, store.ErrChecksum) {
				t.Errorf("Scan stopped at c = %v, want the stop error and the checksum error", err)
			}
			// The store is usable, and a new value heals the key.
			apply(t, s, store.Batch{{Key: "b", Value: []byte("value-b")}})
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := s.Get("b"); err != nil || !ok || string(v) != "value-b" {
				t.Fatalf("Get(b) after a rewrite = %q, %v, %v", v, ok, err)
			}
			if err := s.Load(func(string, []byte) error { return nil }); err != nil {
				t.Fatalf("Load after a rewrite = %v", err)
			}
		})
	}
}
