// Command probe is a tiny image for checking the real node from inside a pod (no shell, FROM
// scratch, so each check is a subcommand):
//
//	probe serve [ADDR]        HTTP server (default :8080): "/" answers "hello from HOSTNAME", /healthz "ok"
//	probe log TEXT...         prints TEXT to stdout and stays up (for `kubectl logs`)
//	probe resolve NAME        prints the addresses NAME resolves to; exit 1 when it does not resolve
//	probe connect HOST:PORT   exit 0 when a TCP connection opens within 3 s; else prints why, exit 1
//	probe write PATH TEXT     writes TEXT to PATH and reads it back (for volume checks), then stays up
//	probe routes              prints the pod's IPv4 routes (/proc/net/route) as "DESTINATION/BITS via GATEWAY"
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: probe serve|log|resolve|connect|write ...")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		addr := ":8080"
		if len(args) > 0 {
			addr = args[0]
		}
		serve(addr)
	case "log":
		fmt.Println(strings.Join(args, " "))
		waitForSignal()
	case "resolve":
		need(args, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, args[0])
		if err != nil {
			fail(err.Error())
		}
		fmt.Println(strings.Join(addrs, " "))
	case "connect":
		need(args, 1)
		conn, err := net.DialTimeout("tcp", args[0], 3*time.Second)
		if err != nil {
			fail(err.Error())
		}
		conn.Close()
		fmt.Println("connected")
	case "write":
		need(args, 2)
		if err := os.WriteFile(args[0], []byte(args[1]), 0o600); err != nil {
			fail(err.Error())
		}
		data, err := os.ReadFile(args[0])
		if err != nil {
			fail(err.Error())
		}
		fmt.Println("wrote", string(data))
		waitForSignal()
	case "routes":
		routes()
	default:
		fail("unknown subcommand " + os.Args[1])
	}
}

func serve(addr string) {
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s path=%s\n", host, r.URL.Path)
	})
	server := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		waitForSignal()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		server.Shutdown(ctx)
	}()
	fmt.Println("serving on", addr)
	if err := server.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fail(err.Error())
	}
}

// routes prints /proc/net/route, whose addresses are little-endian hex.
func routes() {
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		fail(err.Error())
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		mask := hexIP(f[7])
		bits, _ := net.IPMask(mask.To4()).Size()
		fmt.Printf("%s/%d via %s dev %s\n", hexIP(f[1]), bits, hexIP(f[2]), f[0])
	}
}

func hexIP(h string) net.IP {
	var v uint32
	fmt.Sscanf(h, "%X", &v)
	return net.IPv4(byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func waitForSignal() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}

func need(args []string, n int) {
	if len(args) < n {
		fail(fmt.Sprintf("%s needs %d argument(s)", os.Args[1], n))
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "probe:", message)
	os.Exit(1)
}
