// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"context"

	"portolan"
)

var _ portolan.TokenVerifier = (*TokenVerifier)(nil)

// TokenVerifier is a mock of portolan.TokenVerifier.
type TokenVerifier struct {
	VerifyTokenFn func(ctx context.Context, token string) (*portolan.Principal, error)
}

// VerifyToken calls VerifyTokenFn.
func (v *TokenVerifier) VerifyToken(ctx context.Context, token string) (*portolan.Principal, error) {
	return v.VerifyTokenFn(ctx, token)
}
