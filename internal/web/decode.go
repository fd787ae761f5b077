package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
)

// ReadBody reads the whole request body, answering 413 past the limit.
func ReadBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if tooLarge(err) {
			return nil, apperr.New(apperr.ErrPayloadTooLarge, "request body too large")
		}
		return nil, apperr.New(apperr.ErrBadRequest, "could not read the request body")
	}
	return b, nil
}

// Bind decodes the JSON body strictly into v: malformed JSON is 400
// bad_request; an unknown field or a value of the wrong type is 422 naming
// the field. An empty body decodes as {}.
func Bind(c echo.Context, v any) error {
	b, err := ReadBody(c)
	if err != nil {
		return err
	}
	return Decode(b, v)
}

// Decode is Bind on bytes already read.
func Decode(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.ErrBadRequest, "malformed JSON: data after the top-level value")
	}
	return nil
}

func decodeError(err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
		k  *apperr.Kind
	)
	switch {
	case errors.As(err, &k):
		return err
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.New(apperr.ErrBadRequest, "malformed JSON: %v", err)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return apperr.New(apperr.ErrBadRequest, "the body must be a JSON object")
		}
		return apperr.Invalid(field, "must be %s, not %s", jsonType(te.Type.Kind().String()), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Invalid(name, "unknown field")
	}
	// An UnmarshalJSON method's own error (an amount, a date): the decoder
	// does not say which field, so the type's message must.
	return apperr.Invalid("body", "%v", err)
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "uint32":
		return "an integer"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	}
	return fmt.Sprintf("of type %s", goKind)
}
