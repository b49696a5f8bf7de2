package ingress

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// TestResponsesWithBodyAreTheBuilders holds the responses built around a body appended to room
// of the caller's (AppendFailureBody with FailureResponseWithBody, AppendAcceptedBody with
// AcceptedResponseWithBody) to FailureResponse and AcceptedResponse, for any code, message and
// invocation ID, plain or not, appended after whatever the room held.
func TestResponsesWithBodyAreTheBuilders(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		id := rapid.OneOf(rapid.StringMatching(`inv_[0-9a-f]{32}`), rapid.String()).Draw(t, "id")
		code := rapid.Uint16().Draw(t, "code")
		message := rapid.OneOf(rapid.StringMatching(`[ -~]{0,300}`), rapid.String()).Draw(t, "message")
		room := []byte(rapid.String().Draw(t, "room"))
		at := len(room)

		room = AppendFailureBody(room, code, message)
		if diff := cmp.Diff(FailureResponse(id, code, message), FailureResponseWithBody(id, code, room[at:])); diff != "" {
			t.Fatalf("failure (-builder +with body):\n%s", diff)
		}
		previously := rapid.Bool().Draw(t, "previously")
		at = len(room)
		room = AppendAcceptedBody(room, id, previously)
		if diff := cmp.Diff(AcceptedResponse(id, previously), AcceptedResponseWithBody(id, room[at:])); diff != "" {
			t.Fatalf("accepted (-builder +with body):\n%s", diff)
		}
	})
}
