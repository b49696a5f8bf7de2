package approval

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestRequestBodyIsJSONMarshal holds the submitters' hand-written input to what json.Marshal
// writes for the Request, for plain documents and for ones it must escape.
func TestRequestBodyIsJSONMarshal(t *testing.T) {
	doc := rapid.OneOf(rapid.StringMatching(`doc-[0-9]{1,2}`), rapid.StringMatching(`[ -~]{0,8}`), rapid.String(),
		rapid.SampledFrom([]string{"", "<", ">", "&", `"`, `\`, "\x7f", "\x1f", "é", "\u2028", "\xff"}))
	rapid.Check(t, func(t *rapid.T) {
		d := doc.Draw(t, "doc")
		want, err := json.Marshal(Request{Document: d})
		require.NoError(t, err)
		require.Equal(t, string(want), string(requestBody(d)), "document %q", d)
	})
}
