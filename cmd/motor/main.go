// Command motor is the one binary of Motor: `motor serve` runs any set of the
// services, the gateway and the national parts; `motor token` prints a
// dev-mode token; `motor certs` makes dev mTLS certificates; `motor compact`
// rewrites the embedded store's file.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// redisLogger adapts slog to go-redis's logging interface.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// go-redis logs dial failures through a package-level logger; route them
	// into the JSON log instead of bare lines on stderr.
	redis.SetLogger(redisLogger{slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "motor:", err)
		os.Exit(1)
	}
}

const usage = `usage: motor <command> [flags]

commands:
  serve   run services and the gateway (default: everything, embedded store, demo data)
  token   print a dev-mode bearer token: motor token -role advisor -region vasterbotten
  certs   make a dev CA and mTLS certificates: motor certs -out certs -regions uppsala,national
  bench   measure the services against bare baselines on this machine: motor bench -c 50 -rounds 5
  compact rewrite the embedded store's file without the bytes of erased data (motor serve stopped)

Run "motor <command> -h" for the flags of a command.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return serve(ctx, nil, stdout, stderr)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "token":
		return token(args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "certs":
		return certs(args[1:], stdout, stderr)
	case "compact":
		return compact(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		if len(args[0]) > 0 && args[0][0] == '-' {
			// Flags without a command: `go run ./cmd/motor -regions uppsala`.
			return serve(ctx, args, stdout, stderr)
		}
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}
