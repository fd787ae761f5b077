package webhooks

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/db"
)

// Every statement on the three webhook tables (migrations 00009).

// subscription is a stored registration.
type subscription struct {
	ID        string `gorm:"primaryKey"`
	Org       string
	URL       string `gorm:"column:url"`
	Events    string // comma-separated, in the order of Events
	Secret    string
	Active    bool
	Actor     string
	CreatedAt int64 `gorm:"autoCreateTime:false"`
	DeletedAt *int64
}

// TableName is the subscriptions table.
func (subscription) TableName() string { return "webhook_subscriptions" }

func (s subscription) eventList() []string { return strings.Split(s.Events, ",") }

// delivery is one row of the outbox.
type delivery struct {
	ID             string `gorm:"primaryKey"`
	SubscriptionID string
	Org            string
	Event          string
	ClaimID        string
	Payload        string
	Status         string
	Attempts       int
	Tries          int
	NextAttemptAt  int64
	LeaseOwner     string
	LeasedUntil    int64
	LastStatusCode int
	LastError      string
	CreatedAt      int64 `gorm:"autoCreateTime:false"`
	DeliveredAt    *int64
}

// TableName is the deliveries table.
func (delivery) TableName() string { return "webhook_deliveries" }

// attempt is one recorded attempt.
type attempt struct {
	ID         string `gorm:"primaryKey"`
	DeliveryID string
	At         int64
	DurationMs int64
	StatusCode int
	Error      string
	Outcome    string
	Worker     string
}

// TableName is the attempts table.
func (attempt) TableName() string { return "webhook_attempts" }

// insertBatch bounds the rows of one INSERT: a payload is a claim of a few
// KiB, and 200 of them stay far below MariaDB's max_allowed_packet.
const insertBatch = 200

func insertDeliveries(ctx context.Context, tx *gorm.DB, rows []delivery) error {
	return tx.WithContext(ctx).CreateInBatches(&rows, insertBatch).Error
}

func insertSubscription(ctx context.Context, tx *gorm.DB, s *subscription) error {
	return tx.WithContext(ctx).Create(s).Error
}

func activeSubscriptions(ctx context.Context, tx *gorm.DB, org string) ([]subscription, error) {
	var subs []subscription
	err := tx.WithContext(ctx).Where("org = ? AND active = ?", org, true).Order("id").Find(&subs).Error
	return subs, err
}

func countActive(ctx context.Context, tx *gorm.DB, org string) (int64, error) {
	var n int64
	err := tx.WithContext(ctx).Model(&subscription{}).Where("org = ? AND active = ?", org, true).Count(&n).Error
	return n, err
}

// loadSubscription reads one subscription.
func loadSubscription(ctx context.Context, tx *gorm.DB, id string) (subscription, error) {
	var s subscription
	err := tx.WithContext(ctx).Where("id = ?", id).Take(&s).Error
	return s, db.Translate(err)
}

// listSubscriptions returns subscriptions newest first, of one org when org
// is set, before the cursor id when before is set.
func listSubscriptions(ctx context.Context, tx *gorm.DB, org, before string, limit int) ([]subscription, error) {
	q := tx.WithContext(ctx).Order("id DESC").Limit(limit)
	if org != "" {
		q = q.Where("org = ?", org)
	}
	if before != "" {
		q = q.Where("id < ?", before)
	}
	var subs []subscription
	err := q.Find(&subs).Error
	return subs, err
}

func deactivate(ctx context.Context, tx *gorm.DB, id string, at int64) error {
	return tx.WithContext(ctx).Model(&subscription{}).Where("id = ? AND active = ?", id, true).
		Updates(map[string]any{"active": false, "deleted_at": at}).Error
}

// listDeliveries returns a subscription's deliveries newest first.
func listDeliveries(ctx context.Context, tx *gorm.DB, subID, status, before string, limit int) ([]delivery, error) {
	q := tx.WithContext(ctx).Omit("payload").Where("subscription_id = ?", subID).Order("id DESC").Limit(limit)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if before != "" {
		q = q.Where("id < ?", before)
	}
	var ds []delivery
	err := q.Find(&ds).Error
	return ds, err
}

// attemptsOf returns the attempts of the deliveries, oldest first each.
func attemptsOf(ctx context.Context, tx *gorm.DB, deliveryIDs []string) (map[string][]attempt, error) {
	out := make(map[string][]attempt, len(deliveryIDs))
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	var as []attempt
	if err := tx.WithContext(ctx).Where("delivery_id IN ?", deliveryIDs).Order("delivery_id, id").Find(&as).Error; err != nil {
		return nil, err
	}
	for _, a := range as {
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, nil
}

func loadDelivery(ctx context.Context, tx *gorm.DB, id string) (delivery, error) {
	var d delivery
	err := tx.WithContext(ctx).Omit("payload").Where("id = ?", id).Take(&d).Error
	return d, db.Translate(err)
}

// requeue makes a delivery due at once with a fresh set of tries, unless a
// worker holds it (an attempt is under way); it reports whether it did.
func requeue(ctx context.Context, tx *gorm.DB, id string, now int64) (bool, error) {
	res := tx.WithContext(ctx).Model(&delivery{}).Where("id = ? AND leased_until < ?", id, now).
		Updates(map[string]any{"status": StatusPending, "tries": 0, "next_attempt_at": now})
	return res.RowsAffected == 1, res.Error
}

// dueDeliveries returns the ids of up to limit deliveries due at now and
// held by no worker, the longest waiting first. It reads without locking:
// the claim that follows decides.
func dueDeliveries(ctx context.Context, tx *gorm.DB, now int64, limit int) ([]string, error) {
	var out []string
	err := tx.WithContext(ctx).Model(&delivery{}).
		Where("status = ? AND next_attempt_at <= ? AND leased_until < ?", StatusPending, now, now).
		Order("next_attempt_at, id").Limit(limit).Pluck("id", &out).Error
	return out, err
}

// lease gives the due ones of ids to owner until the given instant, in one
// conditional UPDATE: a delivery another worker leased in the meantime no
// longer matches, so it is given to one worker only. The rows the UPDATE
// wrote are the proof, on one node or on a Galera cluster, where the
// certification of the written rows lets one of two racing writers commit.
func lease(ctx context.Context, tx *gorm.DB, ids []string, owner string, now, until int64) (int64, error) {
	res := tx.WithContext(ctx).Model(&delivery{}).
		Where("id IN ? AND status = ? AND next_attempt_at <= ? AND leased_until < ?", ids, StatusPending, now, now).
		Updates(map[string]any{"lease_owner": owner, "leased_until": until})
	return res.RowsAffected, res.Error
}

// leased is a delivery a worker holds, with where and how to send it.
type leased struct {
	ID      string
	Event   string
	Payload string
	Tries   int
	URL     string
	Secret  string
	Active  bool
}

// leasedTo returns the deliveries owner holds under its lease.
func leasedTo(ctx context.Context, tx *gorm.DB, ids []string, owner string) ([]leased, error) {
	var out []leased
	err := tx.WithContext(ctx).Table("webhook_deliveries AS d").
		Select("d.id, d.event, d.payload, d.tries, s.url, s.secret, s.active").
		Joins("JOIN webhook_subscriptions s ON s.id = d.subscription_id").
		Where("d.id IN ? AND d.lease_owner = ?", ids, owner).Order("d.id").Scan(&out).Error
	return out, err
}

// finish writes the outcome of an attempt into the delivery owner holds,
// ending the lease; it reports false when the lease was lost (it ran out
// and another worker took the delivery).
func finish(ctx context.Context, tx *gorm.DB, id, owner string, changes map[string]any) (bool, error) {
	changes["lease_owner"], changes["leased_until"] = "", 0
	res := tx.WithContext(ctx).Model(&delivery{}).Where("id = ? AND lease_owner = ?", id, owner).Updates(changes)
	return res.RowsAffected == 1, res.Error
}

func insertAttempt(ctx context.Context, tx *gorm.DB, a *attempt) error {
	return tx.WithContext(ctx).Create(a).Error
}

// orNotFound is notFound for a missing row, err itself otherwise.
func orNotFound(err error, what, id string) error {
	if apperr.KindOf(err) == apperr.ErrNotFound {
		return notFound(what, id)
	}
	return err
}

// notFound is the answer for an id that names nothing this caller may see.
func notFound(what, id string) error {
	return apperr.New(apperr.ErrNotFound, "no %s %q", what, id)
}
