// Package auth decides who a request is and what they may do: password
// hashing, token minting and hashing (glpat-, glrt-, job tokens), and the
// one permission function every project and group access goes through.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/gantry-ci/gantry"
)

// Token prefixes, as GitLab uses them; tools (and the runner) recognise
// token kinds by prefix.
const (
	PersonalTokenPrefix = "glpat-"
	RunnerTokenPrefix   = "glrt-"
	JobTokenPrefix      = "glcbt-"
	TriggerTokenPrefix  = "glptt-"
)

// Password length bounds, as GitLab sets them.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 128
)

// DefaultCost is the bcrypt cost for stored passwords (GitLab's too).
const DefaultCost = bcrypt.DefaultCost

// HashPassword returns a slow, salted hash of pw. bcrypt reads at most 72
// bytes, so the password is first reduced with SHA-256: every character of a
// long password counts, and no input is rejected for its length.
func HashPassword(pw string, cost int) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword(prehash(pw), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword enforces the length rules on a new password.
func CheckPassword(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLength:
		return fmt.Errorf("%w: password is too short (minimum is %d characters)", gantry.ErrInvalid, MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Errorf("%w: password is too long (maximum is %d characters)", gantry.ErrInvalid, MaxPasswordLength)
	}
	return nil
}

// PasswordMatches reports whether pw matches a hash from HashPassword. An
// empty hash (a user without a password) never matches.
func PasswordMatches(hash, pw string) bool {
	if hash == "" || len(pw) > 4*MaxPasswordLength {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), prehash(pw)) == nil
}

func prehash(pw string) []byte {
	sum := sha256.Sum256([]byte(pw))
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}

// NewSecret returns a fresh token secret with the given prefix: 160 bits of
// randomness in URL-safe base64, the same length GitLab's tokens have.
func NewSecret(prefix string) string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS has no entropy: nothing sensible to do
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is how token secrets are stored: a SHA-256 of a high-entropy
// secret needs no salt or stretching, and lookups stay one index probe.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SameSecret compares two secrets in constant time.
func SameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// NewPassword returns a random password for the initial root user.
func NewPassword() string { return NewSecret("")[:24] }

// errBadCredentials is what every failed login says, whatever failed, so
// that responses don't reveal which usernames exist.
var errBadCredentials = errors.New("invalid credentials")
