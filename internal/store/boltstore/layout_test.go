package boltstore

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/innovationsmotorer/motor/internal/store"
)

// TestEarlierLayoutIsReadAndMoved: a record written before its index
// entries moved into its value (version ‖ value in r, the entries in x) is
// read, scanned and counted as before; its next write moves the entries
// into r and drops them from x, and removes the index entries it no longer
// has; deleting a record of the earlier layout removes its entries too.
func TestEarlierLayoutIsReadAndMoved(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "layout.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ns := store.Namespace{Service: "svc", Region: "r"}
	ctx := t.Context()
	// The earlier layout, written as the code before wrote it.
	err = s.db.Update(func(tx *bolt.Tx) error {
		nsb, err := tx.CreateBucketIfNotExists([]byte(ns.String()))
		if err != nil {
			return err
		}
		mk := func(name string) *bolt.Bucket {
			b, e := nsb.CreateBucketIfNotExists([]byte(name))
			if e != nil {
				err = e
			}
			return b
		}
		r, x, i := mk(bucketRecords), mk(bucketEntries), mk(bucketIndexes)
		if err != nil {
			return err
		}
		for _, key := range []string{"a", "b"} {
			rec := binary.BigEndian.AppendUint64(nil, 3)
			if err := r.Put([]byte(key), append(rec, "value-"+key...)); err != nil {
				return err
			}
			es := []store.IndexEntry{{Index: "by", Term: "old-" + key}, {Index: "by", Term: "same-" + key}}
			if err := x.Put([]byte(key), encodeEntries(es)); err != nil {
				return err
			}
			by, err := i.CreateBucketIfNotExists([]byte("by"))
			if err != nil {
				return err
			}
			for _, e := range es {
				if err := by.Put(indexKey(e.Term, key), []byte{}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	rec, err := s.Get(ctx, ns, "a")
	if err != nil || rec.Version != 3 || string(rec.Value) != "value-a" {
		t.Fatalf("Get of the earlier layout = %+v, %v; want version 3, value-a", rec, err)
	}
	page, err := s.Scan(ctx, ns, store.Query{Index: "by", Prefix: "old-"})
	if err != nil || len(page.Items) != 2 || page.Items[0].Record.Version != 3 || string(page.Items[1].Record.Value) != "value-b" {
		t.Fatalf("Scan of the earlier layout = %+v, %v", page, err)
	}

	// An update keeps same-a, drops old-a, adds new-a.
	res, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "a", Value: []byte("value-a2"), Version: 3,
		Index: []store.IndexEntry{{Index: "by", Term: "same-a"}, {Index: "by", Term: "new-a"}}}}})
	if err != nil || res.Versions[0] != 4 {
		t.Fatalf("update = %+v, %v", res, err)
	}
	// Deleting b, still in the earlier layout, removes its entries.
	if _, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: "b", Version: 3, Delete: true}}}); err != nil {
		t.Fatal(err)
	}
	var terms []string
	page, err = s.Scan(ctx, ns, store.Query{Index: "by"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		terms = append(terms, it.Term+"="+it.Record.Key)
	}
	if want := []string{"new-a=a", "same-a=a"}; len(terms) != 2 || terms[0] != want[0] || terms[1] != want[1] {
		t.Errorf("index after update and delete = %v, want %v", terms, want)
	}
	if n, err := s.Count(ctx, ns, "by", ""); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2 (no entry of b left)", n, err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket([]byte(ns.String())).Bucket([]byte(bucketEntries)).Stats().KeyN; n != 0 {
			t.Errorf("x still holds %d records' entries; want them moved or gone", n)
		}
		raw := tx.Bucket([]byte(ns.String())).Bucket([]byte(bucketRecords)).Get([]byte("a"))
		v, es, value, err := splitRecord(raw)
		if err != nil || v != 4 || string(value) != "value-a2" || len(es) == 0 {
			t.Errorf("a as stored: version %d, entries %q, value %q, %v", v, es, value, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A new namespace gets no x at all.
	ns2 := store.Namespace{Service: "svc", Region: "r2"}
	if _, err := s.Commit(ctx, ns2, store.Write{Puts: []store.Put{{Key: "c", Value: []byte("v"), Index: []store.IndexEntry{{Index: "by", Term: "t"}}}}}); err != nil {
		t.Fatal(err)
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(ns2.String())).Bucket([]byte(bucketEntries)) != nil {
			t.Error("a new namespace has an x bucket")
		}
		return nil
	})
}
