package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// gatewayPkg is the command the tool builds when it runs the gateway as a
// process of its own.
const gatewayPkg = "github.com/modelroute/modelroute/examples/gateway"

// buildGatewayBinary builds examples/gateway into dir and returns the
// binary's path.
func buildGatewayBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "gateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, gatewayPkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", gatewayPkg, err, out)
	}
	return bin, nil
}

// proc is a running process serving HTTP on loopback: the gateway binary,
// or a part of the load tool run as a process of its own.
type proc struct {
	name string // in errors
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var readyAddr = regexp.MustCompile(`gateway ready.* addr=(127\.0\.0\.1:[0-9]+)`)

// startProc starts the gateway binary with args (which should include
// "-addr 127.0.0.1:0") and waits, at most 30 s, for its ready line.
func startProc(bin string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MODELROUTE_MASTER_KEY="+masterKey)
	return startCmd("gateway", cmd, readyAddr)
}

// startCmd starts cmd, the process called name in errors, and waits, at
// most 30 s, for a line of its standard output that ready matches; the
// match's first group is the address it serves. Its output is kept for the
// error messages.
func startCmd(name string, cmd *exec.Cmd, ready *regexp.Regexp) (*proc, error) {
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	pr, pw := io.Pipe()
	p.cmd.Stdout = pw
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		found := false
		for sc.Scan() {
			line := sc.Text()
			p.out.Write([]byte(line + "\n"))
			if m := ready.FindStringSubmatch(line); m != nil && !found {
				found = true
				addrc <- m[1]
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case p.addr = <-addrc:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before it was ready (%v):\n%s", name, p.err, p.out)
	case <-t.C:
		p.kill()
		return nil, fmt.Errorf("%s not ready after 30s:\n%s", name, p.out)
	}
}

// URL is the process's base URL.
func (p *proc) URL() string { return "http://" + p.addr }

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// stop asks the process to shut down (SIGTERM) and waits at most 30 s, then
// kills it.
func (p *proc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		p.kill()
		return fmt.Errorf("%s did not stop within 30s of SIGTERM", p.name)
	}
}
