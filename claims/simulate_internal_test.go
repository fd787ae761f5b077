package claims

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStoredEvidenceKinds: the scan of stored evidence finds exactly the
// kinds that decoding it does, whatever the URIs hold.
func TestStoredEvidenceKinds(t *testing.T) {
	for _, ev := range [][]Evidence{
		{},
		{{Kind: "settlement_sheet", SHA256: "ab"}},
		{{Kind: "a", SHA256: "x", URI: `oss://"kind":"forged"`}, {Kind: "invoice", SHA256: "y", URI: `\"kind\":\"b\"`}},
		{{Kind: "k1", SHA256: "s", URI: "https://ny.example/证据/\u2028<&>"}, {Kind: "k_2", SHA256: "t"}},
	} {
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		var back []Evidence
		require.NoError(t, json.Unmarshal(raw, &back))
		kinds := []string{}
		for _, e := range back {
			kinds = append(kinds, e.Kind)
		}
		require.Equal(t, kinds, storedEvidenceKinds(string(raw)), "%s", raw)
	}
}
