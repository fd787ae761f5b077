package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func getenvFrom(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestConnectionLimitsConfig: the server's timeouts and bulk limit have
// the defaults the README documents, are read from the environment, reach
// server.Config, and a bad value is an error naming the variable.
func TestConnectionLimitsConfig(t *testing.T) {
	c, err := loadConfig(getenvFrom(nil))
	require.NoError(t, err)
	sc := c.serverConfig(nil)
	require.Equal(t, 3*time.Second, sc.RequestTimeout)
	require.Equal(t, 5*time.Minute, sc.BulkTimeout)
	require.Equal(t, 10*time.Second, sc.ReadHeaderTimeout)
	require.Equal(t, time.Minute, sc.ReadTimeout)
	require.Equal(t, 30*time.Second, sc.WriteTimeout)
	require.Equal(t, 2*time.Minute, sc.IdleTimeout)
	require.Equal(t, 64, sc.MaxBulkMiB)
	require.Equal(t, 30*time.Minute, sc.SessionIdleTimeout)
	require.Equal(t, 12*time.Hour, sc.SessionMaxAge)

	c, err = loadConfig(getenvFrom(map[string]string{
		"HUIMIN_REQUEST_TIMEOUT": "2s", "HUIMIN_BULK_TIMEOUT": "10m", "HUIMIN_READ_HEADER_TIMEOUT": "5s",
		"HUIMIN_READ_TIMEOUT": "2m", "HUIMIN_WRITE_TIMEOUT": "45s", "HUIMIN_IDLE_TIMEOUT": "90s", "HUIMIN_MAX_BULK_MIB": "128",
		"HUIMIN_SESSION_IDLE_TIMEOUT": "10m", "HUIMIN_SESSION_MAX_AGE": "8h",
	}))
	require.NoError(t, err)
	sc = c.serverConfig(nil)
	require.Equal(t, 2*time.Second, sc.RequestTimeout)
	require.Equal(t, 10*time.Minute, sc.BulkTimeout)
	require.Equal(t, 5*time.Second, sc.ReadHeaderTimeout)
	require.Equal(t, 2*time.Minute, sc.ReadTimeout)
	require.Equal(t, 45*time.Second, sc.WriteTimeout)
	require.Equal(t, 90*time.Second, sc.IdleTimeout)
	require.Equal(t, 128, sc.MaxBulkMiB)
	require.Equal(t, 10*time.Minute, sc.SessionIdleTimeout)
	require.Equal(t, 8*time.Hour, sc.SessionMaxAge)

	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"a timeout that is no duration", map[string]string{"HUIMIN_READ_TIMEOUT": "soon"}, "HUIMIN_READ_TIMEOUT"},
		{"a zero timeout", map[string]string{"HUIMIN_IDLE_TIMEOUT": "0s"}, "HUIMIN_IDLE_TIMEOUT"},
		{"a negative timeout", map[string]string{"HUIMIN_BULK_TIMEOUT": "-1m"}, "HUIMIN_BULK_TIMEOUT"},
		{"answers cut off before the request deadline", map[string]string{"HUIMIN_REQUEST_TIMEOUT": "30s"}, "HUIMIN_WRITE_TIMEOUT"},
		{"less than one full batch", map[string]string{"HUIMIN_MAX_BULK_MIB": "16"}, "HUIMIN_MAX_BULK_MIB"},
		{"a bulk limit that is no number", map[string]string{"HUIMIN_MAX_BULK_MIB": "many"}, "HUIMIN_MAX_BULK_MIB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(getenvFrom(tc.vars))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestSettingsHelpNamesEveryVariable: every variable loadConfig reads is in
// the help's table, and nothing else is.
func TestSettingsHelpNamesEveryVariable(t *testing.T) {
	read := map[string]bool{}
	_, err := loadConfig(func(k string) string { read[k] = true; return "" })
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, s := range settings {
		listed[s.name] = true
		require.Contains(t, settingsHelp(), s.name)
	}
	require.Equal(t, read, listed)
}
