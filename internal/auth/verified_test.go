// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"context"
	"testing"
	"time"

	"portolan"
	"portolan/internal/auth"
)

// TestVerifiedTokensStillExpire checks that remembering a verified token
// (which spares the signature check on every request) never outlives it:
// the same token is refused once exp plus the skew has passed.
func TestVerifiedTokensStillExpire(t *testing.T) {
	k := newECKey(t, "k1")
	clock := &fakeClock{now: testNow}
	v := mustVerifier(t, mustStatic(t, k), auth.Options{Now: clock.Now, ClockSkew: time.Minute})
	tok := k.token(t, validClaims()) // exp: testNow + 1h
	for i := 0; i < 3; i++ {
		p, err := v.VerifyToken(context.Background(), tok)
		if err != nil || p.Subject != testSubject {
			t.Fatalf("call %d: %v, %+v", i, err, p)
		}
		p.Subject = "changed by a caller"
	}
	clock.Advance(time.Hour + 30*time.Second) // inside the skew
	if _, err := v.VerifyToken(context.Background(), tok); err != nil {
		t.Fatalf("inside the skew: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := v.VerifyToken(context.Background(), tok); portolan.ErrorCode(err) != portolan.EUNAUTHORIZED {
		t.Fatalf("after exp plus skew: %v, want EUNAUTHORIZED", err)
	}
}
