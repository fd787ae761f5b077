// Package apperr holds the small set of error kinds that every Huimin package
// wraps, and the field errors that validation collects. One table in the HTTP
// layer maps each kind to a status and an error code of DESIGN §11.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is a class of failure that the API answers with one status and code.
type Kind struct {
	Code   string
	Status int
}

func (k *Kind) Error() string { return k.Code }

// The kinds of DESIGN §11. Domain code wraps them:
// fmt.Errorf("claim %s is %s: %w", id, st, apperr.ErrInvalidState).
var (
	ErrBadRequest           = &Kind{"bad_request", 400}
	ErrUnauthorized         = &Kind{"unauthorized", 401}
	ErrForbidden            = &Kind{"forbidden", 403}
	ErrNotFound             = &Kind{"not_found", 404}
	ErrMethodNotAllowed     = &Kind{"method_not_allowed", 405}
	ErrPayloadTooLarge      = &Kind{"payload_too_large", 413}
	ErrUnsupportedMedia     = &Kind{"unsupported_media_type", 415}
	ErrValidation           = &Kind{"validation_failed", 422}
	ErrIdempotencyReused    = &Kind{"idempotency_key_reused", 409}
	ErrDuplicateExternalRef = &Kind{"duplicate_external_ref", 409}
	ErrInvalidState         = &Kind{"invalid_state", 409}
	ErrBudgetExhausted      = &Kind{"budget_exhausted", 409}
	ErrSameApprover         = &Kind{"same_approver", 409}
	ErrPlanClosed           = &Kind{"plan_closed", 409}
	ErrMissingPayoutAccount = &Kind{"missing_payout_account", 409}
	ErrNoticePending        = &Kind{"notice_pending", 409} // not yet published, or its notice period not over (DESIGN §14)
	ErrObjectionOpen        = &Kind{"objection_open", 409} // an objection to the claim is not resolved (DESIGN §14)
	ErrConflict             = &Kind{"conflict", 409}
	ErrUnavailable          = &Kind{"unavailable", 503}
	ErrInternal             = &Kind{"internal", 500}
)

// KindOf returns the kind an error wraps, or ErrInternal.
func KindOf(err error) *Kind {
	var k *Kind
	if errors.As(err, &k) {
		return k
	}
	return ErrInternal
}

// Error is a kind with a message meant for the client and optional details
// (for example the id of the claim an external_ref already belongs to).
type Error struct {
	Kind    *Kind
	Message string
	Details map[string]any
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// New returns an error of kind k whose message is shown to the client.
func New(k *Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns e carrying details for the envelope's "details" object.
func (e *Error) WithDetails(d map[string]any) *Error {
	e.Details = d
	return e
}

// FieldError names one invalid field by its JSON path ("facts.self_pay",
// "rules.causes.illness.brackets[2].rate") and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Fields collects field errors while an input is checked, so that one answer
// names every bad field rather than the first.
type Fields []FieldError

// Add records that field is invalid.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Merge appends other's errors, each path prefixed by prefix (when non-empty).
func (f *Fields) Merge(prefix string, other Fields) {
	for _, e := range other {
		if prefix != "" {
			e.Field = Join(prefix, e.Field)
		}
		*f = append(*f, e)
	}
}

// Err returns a validation error carrying the collected fields, or nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

// Under returns err with the field paths of a validation error put under
// prefix ("deductible" → "rules.deductible"), for a body decoded on its own
// that is one field of a larger document; the document itself ("body")
// becomes prefix. Any other error is returned as is.
func Under(prefix string, err error) error {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	f := make(Fields, len(ve.Fields))
	for i, e := range ve.Fields {
		if e.Field == "body" {
			e.Field = ""
		}
		e.Field = Join(prefix, e.Field)
		f[i] = e
	}
	return f.Err()
}

// Join builds a JSON path: Join("facts", "self_pay") = "facts.self_pay",
// Join("brackets", "[2]") = "brackets[2]".
func Join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case strings.HasPrefix(field, "["):
		return prefix + field
	}
	return prefix + "." + field
}

// ValidationError is a 422 naming every invalid field.
type ValidationError struct {
	Fields Fields
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

func (e *ValidationError) Unwrap() error { return ErrValidation }

// Invalid is a shortcut for a validation error on one field.
func Invalid(field, format string, args ...any) error {
	var f Fields
	f.Add(field, format, args...)
	return f.Err()
}
