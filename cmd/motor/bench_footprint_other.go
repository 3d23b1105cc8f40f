//go:build !unix

package main

import "io/fs"

// allocatedBytes is the file's length where blocks are not known.
func allocatedBytes(info fs.FileInfo) int64 { return info.Size() }
