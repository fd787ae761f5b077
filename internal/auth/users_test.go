package auth

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A small KDF keeps these tests fast; the parameters travel in the hash.
var testKDF = KDF{Time: 1, Memory: 64, Threads: 1}

func TestPasswordHashRoundTrip(t *testing.T) {
	phc := hashPassword(testKDF, "correct horse battery")
	require.Regexp(t, `^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, phc)
	require.True(t, passwordMatches(phc, "correct horse battery"))
	require.False(t, passwordMatches(phc, "correct horse batterY"), "one character differs")
	require.False(t, passwordMatches(phc, ""), "empty password")
	require.NotEqual(t, phc, hashPassword(testKDF, "correct horse battery"), "each hash has its own salt")

	for name, bad := range map[string]string{
		"another algorithm": strings.Replace(phc, "argon2id", "argon2i", 1),
		"another version":   strings.Replace(phc, "v=19", "v=16", 1),
		"absurd memory":     strings.Replace(phc, "m=64", "m=99999999", 1),
		"missing parts":     "$argon2id$v=19$m=64,t=1,p=1$",
		"a mangled string":  strings.Replace(phc, "$", "$!", 4),
		"empty":             "",
	} {
		require.False(t, passwordMatches(bad, "correct horse battery"), name)
	}
}

func TestPasswordProblem(t *testing.T) {
	for _, tc := range []struct {
		name, pw, user string
		ok             bool
	}{
		{"long enough", "sixteen chars ok", "fin-wang", true},
		{"Chinese counts by character", "惠民理赔管理平台密码十二字", "fin-wang", true},
		{"eleven characters", "abcdefghijk", "fin-wang", false},
		{"contains the user name", "my-FIN-WANG-password", "fin-wang", false},
		{"one character repeated", "aaaaaaaaaaaaaaaa", "fin-wang", false},
		{"one Chinese character repeated", "惠惠惠惠惠惠惠惠惠惠惠惠", "fin-wang", false},
		{"control character", "abcdefghijkl\x07m", "fin-wang", false},
		{"too long", strings.Repeat("ab", 65), "fin-wang", false},
		{"invalid UTF-8", "abcdefghijkl\xff", "fin-wang", false},
	} {
		got := PasswordProblem(tc.pw, tc.user)
		require.Equal(t, tc.ok, got == "", "%s: %q", tc.name, got)
	}
}

func TestGeneratedPasswords(t *testing.T) {
	shape := regexp.MustCompile(`^[` + passwordAlphabet + `]{4}(-[` + passwordAlphabet + `]{4}){3}$`)
	seen := map[string]bool{}
	for range 200 {
		pw := GeneratePassword()
		require.Regexp(t, shape, pw)
		require.Empty(t, PasswordProblem(pw, "fin-wang"), "a generated password passes the policy")
		require.False(t, seen[pw])
		seen[pw] = true
	}
	require.NotContains(t, passwordAlphabet, "0")
	require.NotContains(t, passwordAlphabet, "O")
	require.NotContains(t, passwordAlphabet, "l")
}

func TestCSRFTokenIsTheSessions(t *testing.T) {
	a, b := newSessionID(), newSessionID()
	require.NotEqual(t, a, b)
	require.Equal(t, CSRFToken(a), CSRFToken(a))
	require.NotEqual(t, CSRFToken(a), CSRFToken(b))
	require.NotEqual(t, sessionHash(a), CSRFToken(a), "the stored hash does not give the token")
	require.True(t, SameToken(CSRFToken(a), CSRFToken(a)))
	require.False(t, SameToken("", ""), "an empty token never matches")
}
