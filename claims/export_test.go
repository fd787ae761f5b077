package claims

// The columns of a claim row in the order the store writes them, for tests
// that fill the claims table directly.
const (
	ClaimColumns     = claimColumns
	ClaimColumnCount = claimColumnCount
)
