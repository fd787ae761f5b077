package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/ids"
	"huimin/internal/web"
)

// Bounds of a subscription's fields (their columns in migrations 00009).
const (
	MaxURL = 2000
	MaxOrg = 64
	// MaxPerOrg bounds an org's active subscriptions: each is one more
	// row written with every change of the org's claims.
	MaxPerOrg = 10
)

// SecretPrefix starts every signing secret, so that people and secret
// scanners recognise one.
const SecretPrefix = "whsec_"

// NewInput registers a receiver.
type NewInput struct {
	Org    string   `json:"org"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// Validate names every bad field.
func (in NewInput) Validate() error {
	var f apperr.Fields
	switch {
	case strings.TrimSpace(in.Org) == "":
		f.Add("org", "is required")
	case !web.IsCode(in.Org, MaxOrg):
		f.Add("org", "must be an insurer's org as its tokens have it: 1 to %d of A-Z a-z 0-9 _ . - (nothing else, not even a space)", MaxOrg)
	}
	if web.CheckRef(&f, "url", in.URL, MaxURL) {
		if msg := urlProblem(in.URL); msg != "" {
			f.Add("url", "%s", msg)
		}
	}
	if len(in.Events) == 0 {
		f.Add("events", "must list at least one of %s", strings.Join(Events, ", "))
	}
	for i, e := range in.Events {
		field := fmt.Sprintf("events[%d]", i)
		switch {
		case !slices.Contains(Events, e):
			f.Add(field, "must be one of %s", strings.Join(Events, ", "))
		case slices.Index(in.Events, e) < i:
			f.Add(field, "is listed twice")
		}
	}
	return f.Err()
}

// urlProblem says what is wrong with a receiver URL, or "".
func urlProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http:// or https:// URL"
	case u.Opaque != "" || u.Hostname() == "":
		return "must name a host (https://host/path)"
	case u.Port() != "" && !validPort(u.Port()):
		return "must have a port from 1 to 65535"
	case u.User != nil:
		return "must not carry a user name or password: deliveries are signed, and the URL is shown in lists"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a fragment (#…), which is never sent"
	}
	return ""
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// View is a subscription in answers. Secret is set only in the answer that
// created it.
type View struct {
	ID        string   `json:"id"`
	Org       string   `json:"org"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Secret    string   `json:"secret,omitempty"`
	Active    bool     `json:"active"`
	CreatedBy string   `json:"created_by"`
	CreatedAt string   `json:"created_at"`
	DeletedAt *string  `json:"deleted_at"`
}

func viewOf(s subscription) View {
	v := View{ID: s.ID, Org: s.Org, URL: s.URL, Events: s.eventList(), Active: s.Active, CreatedBy: s.Actor, CreatedAt: web.Timestamp(s.CreatedAt)}
	if s.DeletedAt != nil {
		at := web.Timestamp(*s.DeletedAt)
		v.DeletedAt = &at
	}
	return v
}

// DeliveryView is a delivery in answers, with its attempts oldest first.
// The payload is not shown: it holds the claim, which an admin does not
// read (DESIGN §9).
type DeliveryView struct {
	ID             string        `json:"id"`
	WebhookID      string        `json:"webhook_id"`
	Event          string        `json:"event"`
	ClaimID        string        `json:"claim_id"`
	Status         string        `json:"status"`
	NextAttemptAt  *string       `json:"next_attempt_at"`
	LastStatusCode *int          `json:"last_status_code"`
	LastError      *string       `json:"last_error"`
	CreatedAt      string        `json:"created_at"`
	DeliveredAt    *string       `json:"delivered_at"`
	Attempts       []AttemptView `json:"attempts"`
}

// AttemptView is one attempt: when, how long, the receiver's status code
// or the error.
type AttemptView struct {
	At         string  `json:"at"`
	DurationMs int64   `json:"duration_ms"`
	StatusCode *int    `json:"status_code"`
	Error      *string `json:"error"`
	Outcome    string  `json:"outcome"`
}

func deliveryView(d delivery, as []attempt) DeliveryView {
	v := DeliveryView{ID: d.ID, WebhookID: d.SubscriptionID, Event: d.Event, ClaimID: d.ClaimID, Status: d.Status,
		CreatedAt: web.Timestamp(d.CreatedAt), Attempts: make([]AttemptView, len(as))}
	if d.Status == StatusPending {
		at := web.Timestamp(d.NextAttemptAt)
		v.NextAttemptAt = &at
	}
	if d.LastStatusCode != 0 {
		code := d.LastStatusCode
		v.LastStatusCode = &code
	}
	if d.LastError != "" && d.Status != StatusDelivered {
		e := d.LastError
		v.LastError = &e
	}
	if d.DeliveredAt != nil {
		at := web.Timestamp(*d.DeliveredAt)
		v.DeliveredAt = &at
	}
	for i, a := range as {
		av := AttemptView{At: web.Timestamp(a.At), DurationMs: a.DurationMs, Outcome: a.Outcome}
		if a.StatusCode != 0 {
			code := a.StatusCode
			av.StatusCode = &code
		}
		if a.Error != "" {
			e := a.Error
			av.Error = &e
		}
		v.Attempts[i] = av
	}
	return v
}

// Create registers a subscription and returns it with its secret, which is
// shown this once.
func (s *Service) Create(ctx context.Context, who audit.Who, in NewInput) (View, error) {
	if err := in.Validate(); err != nil {
		return View{}, err
	}
	// Stored in the order of Events, whatever the order asked.
	var events []string
	for _, e := range Events {
		if slices.Contains(in.Events, e) {
			events = append(events, e)
		}
	}
	now := s.now()
	sub := subscription{ID: ids.New(now), Org: in.Org, URL: in.URL, Events: strings.Join(events, ","), Secret: newSecret(),
		Active: true, Actor: who.Actor, CreatedAt: now.UnixMilli()}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		// A bound against accidents, not a rule money depends on: two
		// creations at once may pass it together.
		n, err := countActive(ctx, tx, in.Org)
		if err != nil {
			return err
		}
		if n >= MaxPerOrg {
			return apperr.New(apperr.ErrConflict, "org %s already has %d active webhooks; delete one first", in.Org, n)
		}
		if err := insertSubscription(ctx, tx, &sub); err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "webhook.create", sub.ID, "org "+sub.Org+": "+sub.Events)
	})
	if err != nil {
		return View{}, err
	}
	s.subs.Clear()
	v := viewOf(sub)
	v.Secret = sub.Secret
	return v, nil
}

// newSecret is 32 random bytes in base64url after SecretPrefix.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// List returns subscriptions newest first: of org when it is set, of
// every org otherwise.
func (s *Service) List(ctx context.Context, org, before string, limit int) ([]View, error) {
	subs, err := listSubscriptions(ctx, s.db.DB, org, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]View, len(subs))
	for i, sub := range subs {
		out[i] = viewOf(sub)
	}
	return out, nil
}

// Delete deactivates a subscription: no new delivery is written for it
// and its pending ones are not sent. It stays listed, with its history.
// Deleting it again answers it again.
func (s *Service) Delete(ctx context.Context, who audit.Who, id string) (View, error) {
	var sub subscription
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if sub, err = loadSubscription(ctx, tx, id); err != nil {
			return orNotFound(err, "webhook", id)
		}
		outcome := "already deleted"
		if sub.Active {
			if err := deactivate(ctx, tx, id, now.UnixMilli()); err != nil {
				return err
			}
			if sub, err = loadSubscription(ctx, tx, id); err != nil {
				return err
			}
			outcome = "deleted"
		}
		return audit.Write(ctx, tx, now, who, "webhook.delete", id, outcome)
	})
	if err != nil {
		return View{}, err
	}
	s.subs.Clear()
	return viewOf(sub), nil
}

// visible returns the subscription id names, when org may see it (org ""
// sees every one); anything else is not found.
func (s *Service) visible(ctx context.Context, id, org string) (subscription, error) {
	if !web.IsID(id) {
		return subscription{}, notFound("webhook", id)
	}
	sub, err := loadSubscription(ctx, s.db.DB, id)
	if err != nil {
		return subscription{}, orNotFound(err, "webhook", id)
	}
	if org != "" && sub.Org != org {
		return subscription{}, notFound("webhook", id)
	}
	return sub, nil
}

// Deliveries returns a subscription's deliveries newest first, each with
// its attempts; org, when set, must be the subscription's.
func (s *Service) Deliveries(ctx context.Context, id, org, status, before string, limit int) ([]DeliveryView, error) {
	if _, err := s.visible(ctx, id, org); err != nil {
		return nil, err
	}
	ds, err := listDeliveries(ctx, s.db.DB, id, status, before, limit)
	if err != nil {
		return nil, err
	}
	idsOf := make([]string, len(ds))
	for i, d := range ds {
		idsOf[i] = d.ID
	}
	as, err := attemptsOf(ctx, s.db.DB, idsOf)
	if err != nil {
		return nil, err
	}
	out := make([]DeliveryView, len(ds))
	for i, d := range ds {
		out[i] = deliveryView(d, as[d.ID])
	}
	return out, nil
}

// Replay queues a delivery again, whatever its status: the next attempt
// sends the same body under the same delivery id, now, with a fresh set
// of tries. A delivery under way (a worker holds it) is 409 invalid_state,
// as is one whose webhook was deleted.
func (s *Service) Replay(ctx context.Context, who audit.Who, id string) (DeliveryView, error) {
	if !web.IsID(id) {
		return DeliveryView{}, notFound("webhook delivery", id)
	}
	now := s.now()
	var d delivery
	var as map[string][]attempt
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if d, err = loadDelivery(ctx, tx, id); err != nil {
			return orNotFound(err, "webhook delivery", id)
		}
		sub, err := loadSubscription(ctx, tx, d.SubscriptionID)
		if err != nil {
			return err
		}
		if !sub.Active {
			return apperr.New(apperr.ErrInvalidState, "webhook delivery %s belongs to webhook %s, which was deleted", id, sub.ID)
		}
		was := d.Status
		ok, err := requeue(ctx, tx, id, now.UnixMilli())
		if err != nil {
			return err
		}
		if !ok {
			return apperr.New(apperr.ErrInvalidState, "webhook delivery %s is being attempted right now; replay it when the attempt is recorded", id)
		}
		if d, err = loadDelivery(ctx, tx, id); err != nil {
			return err
		}
		if as, err = attemptsOf(ctx, tx, []string{id}); err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "webhook.replay", id, "was "+was)
	})
	if err != nil {
		return DeliveryView{}, err
	}
	return deliveryView(d, as[id]), nil
}

// Routes mounts the webhook endpoints: admins register, delete and replay;
// admins and insurers read (an insurer only its own org's, another org's
// being 404 as if it did not exist).
func (s *Service) Routes(g *echo.Group) {
	admin := auth.Require(auth.Admin)
	readers := auth.Require(auth.Admin, auth.Insurer)
	g.POST("/webhooks", s.create, admin)
	g.GET("/webhooks", s.list, readers)
	g.DELETE("/webhooks/:id", s.remove, admin)
	g.GET("/webhooks/:id/deliveries", s.deliveries, readers)
	g.POST("/webhook-deliveries/:id/replay", s.replay, admin)
}

// orgOf is the org a caller is limited to: an insurer's own, "" for an
// admin, who sees every org. (An insurer's token always has an org.)
func orgOf(c echo.Context) string {
	if p := auth.From(c); p.Role == auth.Insurer {
		if p.Org == "" {
			return "\x00" // matches no org
		}
		return p.Org
	}
	return ""
}

func (s *Service) create(c echo.Context) error {
	var in NewInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	v, err := s.Create(c.Request().Context(), auth.Who(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *Service) list(c echo.Context) error {
	var f apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 500, CursorParts: 1}, &f)
	org := c.QueryParam("org")
	if org != "" && !web.IsCode(org, MaxOrg) {
		f.Add("org", "must be an org: 1 to %d of A-Z a-z 0-9 _ . -", MaxOrg)
	}
	if err := f.Err(); err != nil {
		return err
	}
	if own := orgOf(c); own != "" {
		if org != "" && org != own {
			return c.JSON(http.StatusOK, web.NewList([]View{}, ""))
		}
		org = own
	}
	before := ""
	if lq.Cursor != nil {
		before = lq.Cursor[0]
	}
	vs, err := s.List(c.Request().Context(), org, before, lq.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, web.Page(vs, lq.Limit, func(v View) []string { return []string{v.ID} }))
}

func (s *Service) remove(c echo.Context) error {
	id := c.Param("id")
	if !web.IsID(id) {
		return notFound("webhook", id)
	}
	v, err := s.Delete(c.Request().Context(), auth.Who(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Service) deliveries(c echo.Context) error {
	var f apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 50, Max: 200, CursorParts: 1}, &f)
	status := c.QueryParam("status")
	if status != "" && !slices.Contains([]string{StatusPending, StatusDelivered, StatusFailed}, status) {
		f.Add("status", "must be one of pending, delivered, failed")
	}
	if err := f.Err(); err != nil {
		return err
	}
	before := ""
	if lq.Cursor != nil {
		before = lq.Cursor[0]
	}
	vs, err := s.Deliveries(c.Request().Context(), c.Param("id"), orgOf(c), status, before, lq.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, web.Page(vs, lq.Limit, func(v DeliveryView) []string { return []string{v.ID} }))
}

func (s *Service) replay(c echo.Context) error {
	if err := web.BindEmpty(c); err != nil {
		return err
	}
	v, err := s.Replay(c.Request().Context(), auth.Who(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
