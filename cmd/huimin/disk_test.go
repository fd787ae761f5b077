package main

// SQLite on a full disk (a small tmpfs) and on a disk that turns read-only
// under the running server (an ext4 image on a loop device): writes answer
// 503, not 500, reads go on, and the database stays intact.

import (
	"database/sql"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // the "sqlite" driver, for integrity_check
	"github.com/stretchr/testify/require"
)

// mountOrSkip runs mount(8); when that is impossible here (no privilege, no
// loop devices) the test is skipped, except in CI, where it must run.
func mountOrSkip(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("mount", args...).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount %s: %v: %s (required with CI=true)", strings.Join(args, " "), err, out)
		}
		t.Skipf("cannot mount here (mount %s: %v: %s); set CI=true to make this fatal", strings.Join(args, " "), err, out)
	}
}

// unmountAtCleanup unmounts dir when the test ends (after the server, whose
// cleanup runs first, is dead), lazily if it is still busy.
func unmountAtCleanup(t testing.TB, dir string) {
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s; detaching lazily", dir, err, out)
			if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
				t.Errorf("umount -l %s: %v: %s", dir, err, out)
			}
		}
	})
}

// fill writes a junk file until the file system has no byte left.
func fill(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	var total int64
	for _, size := range []int{64 << 10, 4 << 10, 512, 1} {
		chunk := make([]byte, size)
		for {
			n, err := f.Write(chunk)
			total += int64(n)
			if err != nil {
				require.ErrorIs(t, err, syscall.ENOSPC)
				break
			}
		}
	}
	return total
}

// requireUnavailable asserts that writes were refused with 503 in time.
func requireUnavailable(t testing.TB, outs []outcome, what string) {
	t.Helper()
	for _, o := range outs {
		require.Equal(t, http.StatusServiceUnavailable, o.Status, "%s: %s", what, o)
		require.Equal(t, "unavailable", o.Code, "%s: %s", what, o)
		require.NotEmpty(t, o.RetryAfter)
		require.LessOrEqual(t, o.Took(), 2*time.Second, "%s: %s", what, o)
	}
}

// walCheckpoint moves everything in the WAL into the database file and
// truncates the WAL to nothing, from a connection of its own beside the
// server's, as an operator's checkpoint or backup tool would.
func walCheckpoint(t testing.TB, path string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer conn.Close()
	var busy, frames, moved int
	require.NoError(t, conn.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &moved))
	require.Zero(t, busy, "the checkpoint was not blocked")
	st, err := os.Stat(path + "-wal")
	require.NoError(t, err)
	require.Zero(t, st.Size(), "the WAL is empty")
}

// requireIntact runs SQLite's own integrity check on the database file.
func requireIntact(t testing.TB, path string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer conn.Close()
	var res string
	require.NoError(t, conn.QueryRow("PRAGMA integrity_check").Scan(&res))
	require.Equal(t, "ok", res)
}

// diskFullCycles serves SQLite from a 3 MiB tmpfs and fills it cycles
// times: claim submissions (and approvals) then answer 503 — not 500 —
// while reads go on; once space is freed writes succeed again with no
// restart, the refused ones can be retried safely, and the database is
// neither corrupt nor in breach of an invariant.
func diskFullCycles(t *testing.T, cycles int) {
	rng := testRand(t)
	dir := filepath.Join(t.TempDir(), "disk")
	require.NoError(t, os.Mkdir(dir, 0o755))
	mountOrSkip(t, "-t", "tmpfs", "-o", "size=3M", "tmpfs", dir)
	unmountAtCleanup(t, dir)
	path := filepath.Join(dir, "huimin.db")
	d := deploy(t, "sqlite:"+path, 100)
	all := newAcks()

	for cycle := range cycles {
		before := d.submitStored(t, rng, 10, all, "claims before the disk fills")

		// SQLite appends to its WAL until 1000 pages (4 MiB, more than
		// this disk) before it checkpoints and reuses the file; empty it
		// first, so that every write needs new space once the disk is full.
		walCheckpoint(t, path)
		junk := filepath.Join(dir, "junk")
		filled := fill(t, junk)
		refused := d.submitN(t, rng, 5)
		requireUnavailable(t, refused, "claims on a full disk")
		st, b, h, err := d.callH("POST", "/api/v1/claims/"+before[0].ClaimID+"/approve", d.finance, []byte("{}"), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, st, "an approval on a full disk: %s", b)
		require.NotEmpty(t, h.Get("Retry-After"))
		d.mustJSON(t, "GET", "/api/v1/claims/"+before[0].ClaimID, d.auditor, nil, http.StatusOK, nil)
		d.mustJSON(t, "GET", "/api/v1/plans/"+faultPlan, d.auditor, nil, http.StatusOK, nil)

		require.NoError(t, os.Remove(junk))
		after := d.submitStored(t, rng, 5, all, "claims once space is back")
		d.approve(t, after[0].ClaimID, all)
		replayed, fresh := d.retryUnsettled(t, refused, all)
		require.Zero(t, replayed, "a claim refused with 503 on a full disk was not stored")
		t.Logf("cycle %d: filled the disk with %d KiB of junk; %d claims refused with 503 in up to %s; %d retried and stored once space was back",
			cycle+1, filled>>10, len(refused), slices.MaxFunc(refused, func(a, b outcome) int { return int(a.Took() - b.Took()) }).Took().Round(time.Millisecond), fresh)
	}
	d.requireAcked(t, all)
	d.srv.stop(t)
	requireIntact(t, path)
	runCheck(t, "sqlite:"+path)
}

// TestSQLiteFullDisk: a full disk makes writes 503, not 500, and does not
// corrupt the database; freeing space heals the server by itself.
func TestSQLiteFullDisk(t *testing.T) {
	diskFullCycles(t, 1)
}

// TestSQLiteReadOnlyDisk: when the disk under a running server turns
// read-only, writes answer 503 while reads still answer 200.
//
// `mount -o remount,ro` cannot do this to a running server: the kernel
// refuses (EBUSY) while SQLite holds its files open for writing. What does
// happen to a running server is what a failing disk does with
// errors=remount-ro: the kernel forces the file system read-only under the
// open files. So the database lives on a small ext4 image on a loop device,
// and the test makes ext4 report an error through its sysfs
// trigger_fs_error knob.
func TestSQLiteReadOnlyDisk(t *testing.T) {
	rng := testRand(t)
	tmp := t.TempDir()
	img, dir := filepath.Join(tmp, "disk.img"), filepath.Join(tmp, "disk")
	require.NoError(t, os.Mkdir(dir, 0o755))
	f, err := os.Create(img)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(16<<20))
	require.NoError(t, f.Close())
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mkfs.ext4: %v: %s (required with CI=true)", err, out)
		}
		t.Skipf("mkfs.ext4: %v: %s", err, out)
	}
	mountOrSkip(t, "-o", "loop,errors=remount-ro", img, dir)
	unmountAtCleanup(t, dir)
	device := mountedDevice(t, dir)
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(device), "trigger_fs_error")
	if _, err := os.Stat(trigger); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s: %v", trigger, err)
		}
		t.Skipf("no %s: %v", trigger, err)
	}

	path := filepath.Join(dir, "huimin.db")
	d := deploy(t, "sqlite:"+path, 100)
	all := newAcks()
	before := d.submitStored(t, rng, 10, all, "claims before the disk turns read-only")
	d.approve(t, before[0].ClaimID, all)

	require.NoError(t, os.WriteFile(trigger, []byte("huimin fault test\n"), 0o200))
	require.Eventually(t, func() bool {
		opts := mountOptions(dir)
		return slices.Contains(opts, "ro") || slices.Contains(opts, "emergency_ro")
	}, 5*time.Second, 20*time.Millisecond, "the file system turned read-only")
	require.ErrorIs(t, os.WriteFile(filepath.Join(dir, "probe"), []byte("x"), 0o600), syscall.EROFS)

	requireUnavailable(t, d.submitN(t, rng, 5), "claims on a read-only disk")
	st, b, err := d.call("POST", "/api/v1/claims/"+before[1].ClaimID+"/approve", d.finance, []byte("{}"), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, st, "an approval on a read-only disk: %s", b)
	st, b, err = d.call("POST", "/api/v1/tokens", d.admin, []byte(`{"role":"auditor","name":"late"}`), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, st, "a token on a read-only disk: %s", b)

	// Everything already stored can still be read.
	d.requireAcked(t, all)
	for _, p := range []string{"/api/v1/plans/" + faultPlan, "/api/v1/ledger/verify?plan=" + faultPlan, "/api/v1/claims?limit=5"} {
		d.mustJSON(t, "GET", p, d.auditor, nil, http.StatusOK, nil)
	}
	var verified struct{ OK bool }
	d.mustJSON(t, "GET", "/api/v1/ledger/verify?plan="+faultPlan, d.auditor, nil, http.StatusOK, &verified)
	require.True(t, verified.OK)
	st, _, err = d.call("GET", "/readyz", "", nil, nil)
	require.NoError(t, err)
	t.Logf("on the read-only disk: writes 503, reads 200, /readyz %d", st)
	require.True(t, d.srv.alive())
}

// mountedDevice is the device mounted on dir.
func mountedDevice(t testing.TB, dir string) string {
	t.Helper()
	f := mountEntry(dir)
	require.NotNil(t, f, "%s is not mounted", dir)
	return f[0]
}

// mountOptions are the options dir is mounted with now.
func mountOptions(dir string) []string {
	if f := mountEntry(dir); f != nil {
		return strings.Split(f[3], ",")
	}
	return nil
}

// mountEntry is the last /proc/mounts line of dir, split, or nil.
func mountEntry(dir string) []string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return nil
	}
	var last []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] == dir {
			last = f
		}
	}
	return last
}
