package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// TestAccessLogDurationIsFractional: a request that takes a fraction of a
// millisecond logs that fraction, not 0 — most requests take under 1 ms,
// and an integer duration said nothing about them.
func TestAccessLogDurationIsFractional(t *testing.T) {
	var buf bytes.Buffer
	e := echo.New()
	e.Use(AccessLog(slog.New(slog.NewJSONHandler(&buf, nil))))
	e.GET("/accounts/:id", func(c echo.Context) error {
		time.Sleep(300 * time.Microsecond)
		return c.NoContent(http.StatusNoContent)
	})
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/accounts/6222021234567890123", nil))

	var line struct {
		Route      string      `json:"route"`
		DurationMS json.Number `json:"duration_ms"`
		Status     int         `json:"status"`
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	require.NoError(t, dec.Decode(&line))
	require.Equal(t, "/accounts/:id", line.Route, "the route pattern, never the raw path with the account number")
	require.Equal(t, http.StatusNoContent, line.Status)
	ms, err := line.DurationMS.Float64()
	require.NoError(t, err)
	require.Greater(t, ms, 0.299)
	require.NotContains(t, buf.String(), "6222021234567890123")
}

func TestMillisKeepsMicroseconds(t *testing.T) {
	require.Equal(t, 0.3, millis(300*time.Microsecond))
	require.Equal(t, 12.345, millis(12345*time.Microsecond+999))
	require.Equal(t, 0.0, millis(999))
}
