// Package web is Huimin's HTTP plumbing on Echo: the one error handler that
// renders DESIGN §11's envelope, request ids, the access log, body limits,
// strict JSON decoding and list pagination.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
)

// Envelope is the error body of DESIGN §11.
type Envelope struct {
	Error     EnvelopeError `json:"error"`
	RequestID string        `json:"request_id"`
}

// EnvelopeError is the "error" object of the envelope.
type EnvelopeError struct {
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Fields  []apperr.FieldError `json:"fields"`
	Details map[string]any      `json:"details"`
}

// ErrorHandler returns Echo's HTTPErrorHandler: every error — the service's,
// a bind or body-limit error, Echo's own 404 and 405 — is answered with the
// envelope. Unknown errors are logged with the request id and answered as
// "internal" without their message.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		env := toEnvelope(err)
		env.RequestID = RequestID(c)
		status := statusOf(err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			log.Error("request failed", "request_id", env.RequestID, "route", c.Path(), "method", c.Request().Method, "error", err.Error())
		}
		if status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", "2")
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, env)
	}
}

func statusOf(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return echoKind(he).Status
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return apperr.ErrUnavailable.Status
	}
	return apperr.KindOf(err).Status
}

func toEnvelope(err error) Envelope { return Envelope{Error: ErrorObject(err)} }

// ErrorObject is the "error" object of DESIGN §11 for err: the one rendering
// of an error, used for a whole answer's envelope and for each failed item
// of a batch alike. Unknown errors are "internal" without their message.
func ErrorObject(err error) EnvelopeError {
	e := EnvelopeError{Fields: []apperr.FieldError{}, Details: map[string]any{}}
	var (
		he *echo.HTTPError
		ve *apperr.ValidationError
		ae *apperr.Error
	)
	switch {
	case errors.As(err, &ve):
		e.Code, e.Message = apperr.ErrValidation.Code, "the request has invalid fields"
		e.Fields = ve.Fields
	case errors.As(err, &ae):
		e.Code, e.Message = ae.Kind.Code, ae.Message
		if ae.Details != nil {
			e.Details = ae.Details
		}
	case errors.As(err, &he):
		k := echoKind(he)
		e.Code, e.Message = k.Code, echoMessage(he, k)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		e.Code, e.Message = apperr.ErrUnavailable.Code, "the request timed out; retry later"
	default:
		k := apperr.KindOf(err)
		e.Code = k.Code
		if k == apperr.ErrInternal {
			e.Message = "internal error; quote the request id when reporting it"
		} else {
			e.Message = err.Error()
		}
	}
	return e
}

// echoKind maps Echo's own errors (router 404/405, body limit 413, bind 400)
// onto our kinds.
func echoKind(he *echo.HTTPError) *apperr.Kind {
	switch he.Code {
	case http.StatusNotFound:
		return apperr.ErrNotFound
	case http.StatusMethodNotAllowed:
		return apperr.ErrMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return apperr.ErrPayloadTooLarge
	case http.StatusUnauthorized:
		return apperr.ErrUnauthorized
	case http.StatusForbidden:
		return apperr.ErrForbidden
	case http.StatusUnsupportedMediaType:
		return apperr.ErrUnsupportedMedia
	case http.StatusServiceUnavailable:
		return apperr.ErrUnavailable
	case http.StatusUnprocessableEntity:
		return apperr.ErrValidation
	}
	if he.Code >= 400 && he.Code < 500 {
		return apperr.ErrBadRequest
	}
	return apperr.ErrInternal
}

func echoMessage(he *echo.HTTPError, k *apperr.Kind) string {
	switch k {
	case apperr.ErrNotFound:
		return "no such resource"
	case apperr.ErrMethodNotAllowed:
		return "method not allowed on this resource"
	case apperr.ErrPayloadTooLarge:
		return "request body too large"
	case apperr.ErrInternal:
		return "internal error; quote the request id when reporting it"
	}
	if m, ok := he.Message.(string); ok {
		return m
	}
	return http.StatusText(he.Code)
}
