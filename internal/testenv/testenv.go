// Package testenv owns the helpers tests use to stand up real dependencies:
// a private redis-server per test on a free loopback port, and free ports for
// anything else that needs to listen.
package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is released before returning, so another process may still take it;
// callers that bind it should be ready to retry.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv.FreePort: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Redis is a redis-server started for one test. It is stopped by t.Cleanup.
type Redis struct {
	// Addr is host:port of the server, e.g. "127.0.0.1:40123".
	Addr string
	// Dir is the server's working directory (AOF files live here).
	Dir string

	bin  string
	port int

	mu   sync.Mutex
	proc *redisProc
}

type redisProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
}

// URL is the go-redis style URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr }

// StartRedis starts redis-server on a free 127.0.0.1 port with a temporary
// working directory, append-only persistence and no RDB snapshots, and waits
// until it answers PING. Without redis-server on PATH the test is skipped,
// or fails when MOTOR_REQUIRE_REDIS=1 (CI must not silently skip).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not found on PATH; install it with: apt-get install -y redis-server"
		if os.Getenv("MOTOR_REQUIRE_REDIS") == "1" {
			t.Fatalf("testenv.StartRedis: %s (MOTOR_REQUIRE_REDIS=1)", msg)
		}
		t.Skip(msg)
	}
	r := &Redis{bin: bin, Dir: t.TempDir()}
	t.Cleanup(r.Kill)

	// The free port can be taken between FreePort and the server's bind, so
	// a failed start is retried on a fresh port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r.port = FreePort(t)
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
		if lastErr = r.start(); lastErr == nil {
			return r
		}
	}
	t.Fatalf("testenv.StartRedis: %v", lastErr)
	return nil
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. Data acknowledged before the kill survives in the AOF. Killing a
// stopped server is a no-op.
func (r *Redis) Kill() {
	r.mu.Lock()
	p := r.proc
	r.proc = nil
	r.mu.Unlock()
	if p == nil {
		return
	}
	// Process.Kill targets exactly the process we started (pidfd on Linux),
	// never anything found by name.
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Restart starts the server again on the same port and directory, killing
// it first if it is still running, and waits until it answers PING.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	r.Kill()
	// The old socket may linger for a moment after the kill; retry briefly
	// rather than failing on a transient "address in use".
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := r.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv.Redis.Restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *Redis) start() error {
	logPath := filepath.Join(r.Dir, "redis.log")
	cmd := exec.Command(r.bin,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--dir", r.Dir,
		"--save", "",
		"--appendonly", "yes",
		"--daemonize", "no",
		"--logfile", logPath,
	)
	cmd.Dir = r.Dir
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", r.bin, err)
	}
	p := &redisProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("redis-server on %s exited during startup: %s", r.Addr, tail(logPath))
		default:
		}
		if err := ping(r.Addr, cmd.Process.Pid); err == nil {
			r.mu.Lock()
			r.proc = p
			r.mu.Unlock()
			return nil
		} else if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("redis-server on %s did not answer PING: %w; log: %s", r.Addr, err, tail(logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping speaks just enough RESP to see "+PONG" from the server with process
// id pid. While the server is still loading its AOF it answers "-LOADING",
// which counts as not ready. The process id matters: between a kill and a
// restart on the same port, another test's server may have taken the port,
// and a PONG from it would hand this test a stranger's data.
func ping(addr string, pid int) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\nINFO server\r\n")); err != nil {
		return err
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("unexpected reply " + strconv.Quote(line))
	}
	head, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
	if !strings.HasPrefix(head, "$") || err != nil || n < 0 || n > 1<<20 {
		return errors.New("unexpected INFO reply " + strconv.Quote(head))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(rd, body); err != nil {
		return err
	}
	want := "process_id:" + strconv.Itoa(pid) + "\r\n"
	if !strings.Contains(string(body), want) {
		return fmt.Errorf("%s is answered by another redis-server than process %d", addr, pid)
	}
	return nil
}

// tail returns the end of the server log for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const limit = 2000
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(b)
}
