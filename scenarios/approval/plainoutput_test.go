package approval

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/journal"
)

// TestPlainOutputIsExpectedOutput: whenever plainOutput takes its short path, it derives the
// very bytes expectedOutput does; the rest it leaves to expectedOutput.
func TestPlainOutputIsExpectedOutput(t *testing.T) {
	raw := func(s string) journal.Result { return journal.Result{Value: []byte(s)} }
	docs := []journal.Result{jsonResult(Request{Document: "contract-7"}), jsonResult(Request{Document: "a<b&c"}),
		jsonResult(Request{Document: "é"}), raw(`{"document":"x\"y"}`), raw(`{"document": "spaced"}`), raw(`{}`)}
	tickets := []journal.Result{raw("7"), raw("0"), raw("012"), raw("-3"), raw("1234567890123456789"), raw(" 5"), raw("")}
	decisions := []journal.Result{jsonResult("alice approves"), jsonResult("a>b"), raw(`"tab\tbed"`), raw(`"x`), raw(`7`),
		{Failure: &journal.Failure{Code: 409, Message: "rejected"}}}
	var short int
	for _, doc := range docs {
		for _, ticket := range tickets {
			for _, dec := range decisions {
				j := []journal.Entry{{Kind: journal.KindInput, Result: doc}, {Kind: journal.KindAwakeable}, {Kind: journal.KindRun, Result: ticket}, {Kind: journal.KindOutput}}
				got, ok := plainOutput(nil, j, dec)
				if !ok {
					continue
				}
				short++
				want, err := expectedOutput(j, dec)
				require.NoError(t, err)
				require.Nil(t, want.Failure)
				require.Equal(t, string(want.Value), string(got), "doc %s ticket %s decision %s", doc, ticket, dec)
				var s string
				require.NoError(t, json.Unmarshal(got, &s))
			}
		}
	}
	require.Equal(t, 2, short, "the plain input, ticket and decision, with tickets 7 and 0")
	_, ok := plainOutput(nil, []journal.Entry{{Kind: journal.KindInput}}, jsonResult("x"))
	require.False(t, ok, "a journal of another shape")
}
