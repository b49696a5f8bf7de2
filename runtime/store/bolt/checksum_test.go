package bolt_test

import (
	"errors"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

// TestContractChecksum damages a value in the file itself, behind bbolt's back as a disk would:
// bbolt's own checksums cover its meta pages only, so the store's checksum is what catches it.
func TestContractChecksum(t *testing.T) {
	storetest.RunChecksum(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "vigil.db"))
	}, func(t *testing.T, s store.Store, key string, bit int) store.Store {
		path := s.(*bolt.Store).Path()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bbolt.Tx) error {
			data := tx.Bucket([]byte("data"))
			v := append([]byte{}, data.Get([]byte(key))...)
			bit %= 8 * len(v)
			v[bit/8] ^= 1 << (bit % 8)
			return data.Put([]byte(key), v)
		})
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		return open(t, path)
	})
}

// TestFormatVersion1StillOpens: a file written before values carried checksums opens, its values
// read as they are, new writes stay in its format, and it stays version 1.
func TestFormatVersion1StillOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	err := writeBbolt(path, func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte("format"), []byte("vigil-store")); err != nil {
			return err
		}
		if err := meta.Put([]byte("version"), []byte("1")); err != nil {
			return err
		}
		data, err := tx.CreateBucket([]byte("data"))
		if err != nil {
			return err
		}
		return data.Put([]byte("old"), []byte("bare value"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	if v, ok, err := s.Get("old"); err != nil || !ok || string(v) != "bare value" {
		t.Fatalf("Get(old) = %q, %v, %v", v, ok, err)
	}
	if err := s.Apply(store.Batch{{Key: "new", Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bbolt.Tx) error {
		if v := string(tx.Bucket([]byte("meta")).Get([]byte("version"))); v != "1" {
			t.Errorf("version = %q, want the file to stay at 1", v)
		}
		if v := string(tx.Bucket([]byte("data")).Get([]byte("new"))); v != "v" {
			t.Errorf("new value on disk = %q, want it bare as version 1 stores it", v)
		}
		return nil
	})
}

// TestChecksumOnDisk: a version 2 file holds each value followed by its CRC-32C over key and
// value, and a value cut short on disk is reported, not read.
func TestChecksumOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s := open(t, path)
	if err := s.Apply(store.Batch{{Key: "k", Value: []byte("value")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := writeBbolt(path, func(tx *bbolt.Tx) error {
		data := tx.Bucket([]byte("data"))
		v := data.Get([]byte("k"))
		if want := store.Seal(nil, "k", []byte("value")); string(v) != string(want) {
			t.Errorf("on disk %x, want %x", v, want)
		}
		return data.Put([]byte("k"), append([]byte{}, v[:2]...))
	})
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	if _, _, err := s.Get("k"); !errors.Is(err, store.ErrChecksum) {
		t.Fatalf("Get of a value cut short = %v, want ErrChecksum", err)
	}
}
