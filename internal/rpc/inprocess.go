package rpc

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"
)

// inProcessBuffer is the size of each direction's buffer of an in-process
// connection; HTTP/2 flow control keeps a call's bytes within it anyway.
const inProcessBuffer = 1 << 20

// inProcess is the in-memory listener a process's own clients (its gateway,
// portal and services calling each other) reach its gRPC server through:
// the same grpc.Server, so every interceptor, the credentials and the stats
// handlers run as on the TCP listener, without the loopback socket's
// syscalls. bufconn was chosen over a custom transport because it is a
// net.Listener: TLS, HTTP/2 and draining work on it unchanged.
type inProcess struct {
	lis *bufconn.Listener
}

// InProcess returns the dial option that connects a client to s in memory,
// and the target to dial with it (any address works; it names the
// connection in traces). Calls are answered once s serves.
func (s *Server) InProcess(addr string) (target string, opt grpc.DialOption) {
	lis := s.inproc.lis
	return "passthrough:///" + addr, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	})
}

// inProcessListener is the in-memory listener, served with the server's
// TCP listener from the start, whether or not a client dials it yet.
func (s *Server) inProcessListener() net.Listener { return s.inproc.lis }
