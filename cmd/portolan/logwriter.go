// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter buffers the server's log and writes it out at least every
// logFlushInterval: one request line per request would otherwise cost a
// write system call per request, as much as answering it from the cache.
// Close writes what is left.
type logWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	done chan struct{}
	wg   sync.WaitGroup
}

const logFlushInterval = 200 * time.Millisecond

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{})}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(logFlushInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.flush()
			case <-l.done:
				l.flush()
				return
			}
		}
	}()
	return l
}

// Write buffers p; a full buffer is written at once.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *logWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
}

// Close stops the flusher and writes out the buffer.
func (l *logWriter) Close() error {
	close(l.done)
	l.wg.Wait()
	return nil
}
