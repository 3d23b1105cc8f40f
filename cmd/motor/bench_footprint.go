package main

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/innovationsmotorer/motor/internal/perf"
)

// held is what the process and its data folder hold at one moment: bytes
// written on disk (allocated blocks, not the file's reserved length: bbolt
// grows its file ahead of its pages), live heap after a collection, and the
// resident set.
type held struct {
	disk, heap, rss int64
}

func measureUsage(data string) held {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := held{heap: int64(ms.HeapAlloc), rss: residentBytes()}
	_ = filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				u.disk += allocatedBytes(info)
			}
		}
		return nil
	})
	return u
}

// footprint is what n more ideas cost, from the held before and after
// they were stored and indexed.
func footprint(store string, n int, before, after held) perf.Footprint {
	return perf.Footprint{Store: store, Ideas: n,
		DiskBytesPerIdea: float64(after.disk-before.disk) / float64(n),
		HeapBytesPerIdea: float64(after.heap-before.heap) / float64(n),
		RSSMiB:           float64(after.rss) / (1 << 20),
	}
}

// residentBytes is the process's resident set from /proc (0 where there is
// none).
func residentBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
