package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/perf"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// benchRedis is a redis-server the bench starts for itself, with the
// durability Motor's Redis deployments use (append-only, fsync every
// second).
type benchRedis struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startBenchRedis(dir string) (*benchRedis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not on PATH (run with -redis=false to skip): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("net.Listen: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("os.MkdirAll: %w", err)
	}
	r := &benchRedis{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan struct{})}
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	for deadline := time.Now().Add(15 * time.Second); ; {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return r, nil
		} else if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer: %w", r.addr, err)
		}
		select {
		case <-r.done:
			return nil, errors.New("redis-server exited during start-up")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *benchRedis) stop() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

func redisScenarios(ctx context.Context, o benchOptions, data string, add func(perf.Result)) error {
	rs, err := startBenchRedis(filepath.Join(data, "redis"))
	if err != nil {
		return err
	}
	defer rs.stop()
	m, err := startBenchMotor(ctx, filepath.Join(data, "motor-redis"), "redis://"+rs.addr)
	if err != nil {
		return err
	}
	defer func() { _ = m.stop() }()
	tok, err := m.token("bench-advisor", "vasterbotten", auth.Advisor)
	if err != nil {
		return err
	}
	cred := grpc.PerRPCCredentials(bearer(tok))
	ideas := ideav1.NewIdeaServiceClient(m.conn)
	idea, err := ideas.CreateIdea(ctx, &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: benchIdea(0), RequestId: "bench-redis"}, cred)
	if err != nil {
		return fmt.Errorf("CreateIdea: %w", err)
	}
	value, _ := proto.Marshal(idea)
	rc := redis.NewClient(&redis.Options{Addr: rs.addr, PoolSize: o.load.Concurrency})
	defer rc.Close()
	var seq atomic.Int64
	add(perf.Compare(ctx, perf.Scenario{Name: "S3 Redis create", Metric: perf.Throughput,
		Baseline: perf.Side{Name: fmt.Sprintf("go-redis SET (%d B)", len(value)), Op: func(ctx context.Context) error {
			return rc.Set(ctx, "raw:"+strconv.FormatInt(seq.Add(1), 10), value, 0).Err()
		}},
		Subject: createSide(ideas, cred, "vasterbotten", &seq),
	}, o.load, o.rounds))
	if bin, err := exec.LookPath("redis-benchmark"); err == nil {
		add(perf.Compare(ctx, perf.Scenario{Name: "S3 Redis create vs redis-benchmark", Metric: perf.Throughput,
			Baseline: perf.Side{Name: "redis-benchmark SET -P 1", External: func(ctx context.Context, load perf.Load) (float64, error) {
				return redisBenchmark(ctx, bin, rs.addr, load, len(value))
			}},
			Subject: createSide(ideas, cred, "vasterbotten", &seq),
		}, o.load, o.rounds))
	}
	return nil
}

var rpsLine = regexp.MustCompile(`SET: ([0-9.]+) requests per second`)

// redisBenchmark runs redis-benchmark's SET for about the round's length
// (its request count estimated from a first short run) and returns its rate.
func redisBenchmark(ctx context.Context, bin, addr string, load perf.Load, size int) (float64, error) {
	host, port, _ := net.SplitHostPort(addr)
	n := 2000
	for range 2 {
		out, err := exec.CommandContext(ctx, bin, "-h", host, "-p", port, "-c", strconv.Itoa(load.Concurrency), "-P", "1",
			"-d", strconv.Itoa(size), "-t", "set", "-n", strconv.Itoa(n), "-r", "1000000", "-q").CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("redis-benchmark: %v: %s", err, out)
		}
		var rps float64
		sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(string(out), "\r", "\n")))
		for sc.Scan() {
			if m := rpsLine.FindStringSubmatch(sc.Text()); m != nil {
				rps, _ = strconv.ParseFloat(m[1], 64)
			}
		}
		if rps == 0 {
			return 0, fmt.Errorf("redis-benchmark printed no SET rate: %s", out)
		}
		want := int(rps * load.Duration.Seconds())
		if want <= n*2 || n != 2000 {
			return rps, nil
		}
		n = want
	}
	return 0, errors.New("redis-benchmark: no rate after two runs")
}
