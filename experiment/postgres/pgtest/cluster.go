package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// Cluster is a PostgreSQL server of a test's own, for tests that stop and start the
// database (outages) without disturbing the other packages' databases.
type Cluster struct {
	t    testing.TB
	dir  string
	port int
	bin  string
	asPG bool
}

// NewCluster initialises and starts a throwaway PostgreSQL 15 (from PGBIN, default
// /usr/lib/postgresql/15/bin). Without the binaries the test is skipped, unless
// KRSLAB_REQUIRE_DB=1.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := os.Getenv("PGBIN")
	if bin == "" {
		bin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		if os.Getenv("KRSLAB_REQUIRE_DB") == "1" {
			t.Fatalf("no PostgreSQL binaries in %s and KRSLAB_REQUIRE_DB=1", bin)
		}
		t.Skipf("no PostgreSQL binaries in %s", bin)
	}
	dir, err := os.MkdirTemp("", "krslab-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, dir: dir, bin: bin, asPG: os.Geteuid() == 0}
	if c.asPG {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
	c.Start()
	t.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// URL is the connection URL of the cluster's postgres database.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off", c.port, c.dir)
	if err := c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(c.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("start PostgreSQL: %v\n%s", err, log)
	}
}

// Stop stops the server at once, as a crash or an outage would.
func (c *Cluster) Stop() {
	c.t.Helper()
	if err := c.pgctl("stop", "-m", "immediate", "-w"); err != nil {
		c.t.Fatalf("stop PostgreSQL: %v", err)
	}
}

func (c *Cluster) pgctl(args ...string) error {
	return c.command("pg_ctl", append([]string{"-D", c.data()}, args...)...).Run()
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.asPG {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	return cmd
}
