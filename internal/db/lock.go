package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/internal/ids"
	"huimin/migrations"
)

// The lock's timing: a holder renews its lease every lockRenew; a lease
// not renewed for lockTTL (a holder killed mid-migration) may be taken
// over, so a server started after such a crash waits at most that long.
const (
	lockTTL   = 15 * time.Second
	lockRenew = 3 * time.Second
	lockPoll  = 200 * time.Millisecond
)

// lockRecord is a row of huimin_locks: who holds a named lock, until when
// (Unix ms) unless renewed.
type lockRecord struct {
	Name      string `gorm:"primaryKey"`
	Holder    string
	ExpiresAt int64
}

func (lockRecord) TableName() string { return "huimin_locks" }

// The lock table is made outside the migrations, since it is what makes
// running them safe; IF NOT EXISTS lets every start-up make it.
const lockTableDDL = `CREATE TABLE IF NOT EXISTS huimin_locks (
  name       VARCHAR(64)  NOT NULL PRIMARY KEY,
  holder     VARCHAR(128) NOT NULL,
  expires_at BIGINT       NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

// errLockLost is the cause of the context Exclusive gives fn when the
// lease could not be renewed in time and another server may hold it.
var errLockLost = errors.New("the database lock was lost (not renewed in time)")

// Exclusive runs fn while holding the database-wide lock called name, so
// that servers started at the same moment on one database, or on the nodes
// of one Galera cluster, take start-up steps (migrations, seeding, the
// first admin token) one at a time. The others wait (polling every 200 ms)
// until the holder is done, then run fn themselves and find the work done.
//
// The lock is a leased row of huimin_locks, not MariaDB's GET_LOCK: a named
// lock is local to one Galera node (newer MariaDB refuses GET_LOCK on a
// cluster outright), whereas a row written on two nodes at once conflicts
// at certification, so exactly one takes it. The holder renews the lease
// every 3 s while fn runs; a holder that dies leaves a lease that another
// server takes over once it is 15 s old. fn's context is cancelled if the
// lease is lost. Leases compare the servers' clocks, which NTP keeps far
// closer than 15 s.
//
// SQLite is one process's file: there fn just runs.
func (d *DB) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	if d.Dialect != migrations.MySQL {
		return fn(ctx)
	}
	if err := d.DB.WithContext(ctx).Exec(lockTableDDL).Error; err != nil {
		return fmt.Errorf("lock %s: create huimin_locks: %w", name, err)
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s:%d:%s", host, os.Getpid(), ids.New(time.Now()))
	for waited := false; ; {
		other, err := d.tryLock(ctx, name, holder)
		if err != nil {
			return fmt.Errorf("lock %s: %w", name, err)
		}
		if other == "" {
			break
		}
		if !waited {
			d.logger().Info("waiting for another server to finish", "lock", name, "holder", other)
			waited = true
		}
		if !pause(ctx, lockPoll) {
			return fmt.Errorf("lock %s: %w", name, ctx.Err())
		}
	}

	lctx, cancel := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(lockRenew)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			res := d.DB.WithContext(lctx).Model(&lockRecord{}).Where("name = ? AND holder = ?", name, holder).
				Update("expires_at", time.Now().Add(lockTTL).UnixMilli())
			if res.Error == nil && res.RowsAffected == 0 {
				cancel(errLockLost)
				return
			}
			// A failed renewal (the database away for a moment) is tried
			// again at the next tick; the lease outlasts several.
		}
	}()
	err := fn(lctx)
	lost := context.Cause(lctx)
	cancel(context.Canceled)
	<-renewed
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	release := d.DB.WithContext(rctx).Where("name = ? AND holder = ?", name, holder).Delete(&lockRecord{}).Error
	switch {
	case errors.Is(lost, errLockLost):
		return fmt.Errorf("lock %s: %w", name, errLockLost)
	case err != nil:
		return err
	case release != nil:
		// The work is done; the lease runs out by itself.
		d.logger().Warn("could not release a database lock; it expires by itself", "lock", name, "error", release.Error())
	}
	return nil
}

// tryLock takes the lock for holder when it is free, expired or already
// holder's, and otherwise returns who holds it. Losing a race to take it —
// a duplicate key, a deadlock, or on a cluster a certification conflict
// with another node's take — is not an error: the lock is taken by
// someone else, and the caller looks again.
func (d *DB) tryLock(ctx context.Context, name, holder string) (other string, err error) {
	now := time.Now()
	expires := now.Add(lockTTL).UnixMilli()
	err = d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var l lockRecord
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("name = ?", name).Take(&l).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			return tx.Create(&lockRecord{Name: name, Holder: holder, ExpiresAt: expires}).Error
		case err != nil:
			return err
		case l.Holder != holder && l.ExpiresAt > now.UnixMilli():
			other = l.Holder
			return nil
		}
		return tx.Model(&lockRecord{}).Where("name = ?", name).Updates(map[string]any{"holder": holder, "expires_at": expires}).Error
	})
	if err != nil && (IsDuplicate(err) || retryReason(err) != "") {
		return "another server", nil
	}
	return other, err
}
