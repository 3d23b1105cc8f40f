package boltstore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
)

// TestCompact_LeavesOldBytesBehind: after values holding a name are
// overwritten and deleted, the compacted file holds none of their bytes,
// keeps what is current, and the audit log's numbering goes on.
func TestCompact_LeavesOldBytesBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "motor.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ns := store.Namespace{Service: "idea", Region: "vasterbotten"}
	secret := strings.Repeat("Greta Lindqvist ", 64) // spans many bytes of a page
	w := store.Write{Events: []store.Event{{Action: "CreateIdea", Key: "a"}}}
	for _, k := range []string{"a", "b"} {
		w.Puts = append(w.Puts, store.Put{Key: k, Value: []byte(secret), Index: []store.IndexEntry{{Index: "i", Term: k}}})
	}
	if _, err := st.Commit(t.Context(), ns, w); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(t.Context(), ns, store.Write{
		Puts:   []store.Put{{Key: "a", Value: []byte("erased"), Version: 1}, {Key: "b", Version: 1, Delete: true}},
		Events: []store.Event{{Action: "EraseSubmitter", Key: "a"}},
	}); err != nil {
		t.Fatal(err)
	}

	// While the file is open, it cannot be compacted.
	if _, _, err := boltstore.Compact(path); err == nil || !strings.Contains(err.Error(), "stop motor serve first") {
		t.Errorf("Compact of an open file: %v, want refused", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(path); err != nil || !bytes.Contains(raw, []byte("Greta")) {
		// What compaction is for: the freed pages still hold the name.
		t.Fatalf("before compaction the file does not hold the erased name (%v): the test would prove nothing", err)
	}
	if _, _, err := boltstore.Compact(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("Greta")) {
		t.Error("the compacted file still holds the erased name")
	}
	if !bytes.Contains(raw, []byte("erased")) {
		t.Error("the compacted file lost the current value (or the scan is broken)")
	}

	st, err = boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if rec, err := st.Get(t.Context(), ns, "a"); err != nil || string(rec.Value) != "erased" || rec.Version != 2 {
		t.Errorf("after compaction: %+v %v", rec, err)
	}
	if _, err := st.Commit(t.Context(), ns, store.Write{Events: []store.Event{{Action: "Later", Key: "a"}}}); err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(t.Context(), ns, 0, 10)
	if err != nil || len(evs) != 3 || evs[2].Seq != 3 || evs[2].Action != "Later" {
		t.Errorf("audit log after compaction: %+v %v, want three events numbered on", evs, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), ".motor.db.compact")); !os.IsNotExist(err) {
		t.Errorf("temporary copy left behind: %v", err)
	}
}
