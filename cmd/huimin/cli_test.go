package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
)

// TestHelpNeverActs: --help (or -h), anywhere among a command's arguments,
// prints that command's help on stdout and does nothing: no database is
// opened or created, no file is read, no server starts.
func TestHelpNeverActs(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--help"}, {"serve", "--port", "9000", "-h"}, {"check", "--help"}, {"migrate", "up", "--help"},
		{"ledger", "verify", "--help"}, {"token", "revoke", "--help"}, {"token", "create", "--role", "admin", "--help"},
		{"user", "create", "-h"}, {"demo", "--help"}, {"help", "check"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			c := newCLI(t)
			out, stderr, err := c.run(t, args...)
			require.NoError(t, err)
			name := args[0]
			if name == "help" {
				name = args[1]
			}
			require.Contains(t, out, "usage: huimin "+name)
			require.Contains(t, out, "HUIMIN_DB", "the help lists the settings")
			require.NotContains(t, stderr, "database:")
			_, statErr := os.Stat(filepath.Join(c.dir, "h.db"))
			require.True(t, os.IsNotExist(statErr), "--help created the database")
		})
	}
}

func TestVersionFlagAndUsage(t *testing.T) {
	c := newCLI(t)
	for _, v := range []string{"--version", "version", "-v"} {
		out, _, err := c.run(t, v)
		require.NoError(t, err)
		require.Regexp(t, `^huimin \S+ \(go\S+\)\n$`, out)
	}
	out, _, err := c.run(t, "--help")
	require.NoError(t, err)
	for _, s := range settings {
		require.Contains(t, out, s.name, "the help lists every setting")
	}
	for _, cmd := range commands {
		require.Contains(t, out, cmd.synopsis)
	}
}

// TestServeRefusesUnknownFlags: a mistyped or unknown flag is an error
// (exit 2) before anything is opened, never a server started on the
// defaults.
func TestServeRefusesUnknownFlags(t *testing.T) {
	for _, args := range [][]string{{"serve", "--port", "9000"}, {"serve", "extra"}, {"check", "now"}, {"serve", "--db"}} {
		c := newCLI(t)
		_, stderr, err := c.run(t, args...)
		requireExit(t, err, 2)
		require.Contains(t, stderr, "huimin "+args[0])
		_, statErr := os.Stat(filepath.Join(c.dir, "h.db"))
		require.True(t, os.IsNotExist(statErr))
	}
}

// TestCommandsNameTheirDatabase: every command that opens a database says
// which on stderr, and --db overrides HUIMIN_DB.
func TestCommandsNameTheirDatabase(t *testing.T) {
	c := newCLI(t)
	_, stderr, err := c.run(t, "check")
	require.NoError(t, err)
	require.Contains(t, stderr, "database: sqlite "+filepath.Join(c.dir, "h.db")+"\n")

	other := filepath.Join(c.dir, "other.db")
	_, stderr, err = c.run(t, "token", "list", "--db", "sqlite:"+other)
	require.NoError(t, err)
	require.Contains(t, stderr, "database: sqlite "+other+"\n")
	_, err = os.Stat(other)
	require.NoError(t, err, "--db opened the other database")

	require.Equal(t, "mysql 127.0.0.1:3306/huimin", describeDB("mysql:root:secret@tcp(127.0.0.1:3306)/huimin?parseTime=true"))
	require.NotContains(t, describeDB("mysql:root:secret@tcp(127.0.0.1:3306)/huimin"), "secret")
}

// TestMissingMariaDBDatabaseSaysHowToCreateIt: a DSN naming a database that
// does not exist gets the CREATE DATABASE line to run, not a driver error.
func TestMissingMariaDBDatabaseSaysHowToCreateIt(t *testing.T) {
	dsn, err := mysql.ParseDSN(testdb.EmptyMySQL(t)) // skips without MariaDB, fails with CI=true
	require.NoError(t, err)
	dsn.DBName = fmt.Sprintf("huimin_absent_%d", os.Getpid())
	c := newCLI(t)
	c.vars["HUIMIN_DB"] = "mysql:" + dsn.FormatDSN()
	_, stderr, err := c.run(t, "check")
	require.Error(t, err)
	require.Contains(t, stderr, "database: mysql "+dsn.Addr+"/"+dsn.DBName)
	require.ErrorContains(t, err, "CREATE DATABASE `"+dsn.DBName+"`")
}
