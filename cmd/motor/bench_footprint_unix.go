//go:build unix

package main

import (
	"io/fs"
	"syscall"
)

// allocatedBytes is what the file takes on disk: its blocks, so the length
// bbolt reserved ahead of its pages is not counted.
func allocatedBytes(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}
