package approval

import (
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

// TestApprovalIsNameApproves: a reviewer's approving decision is its name followed by
// " approves", whether it comes boxed from the table made once or is written in the run's texts,
// for numbered reviewers in and past the table and for names near theirs (a leading zero, a
// sign, another kind).
func TestApprovalIsNameApproves(t *testing.T) {
	name := rapid.OneOf(
		rapid.Custom(func(t *rapid.T) string { return "reviewer-" + strconv.Itoa(rapid.IntRange(-2, 70).Draw(t, "n")) }),
		rapid.SampledFrom([]string{"reviewer-07", "reviewer-+7", "reviewer-", "reviewer-1a", "submitter-3", "reviewer-31", "reviewer-32", "", "reviewer-1 "}),
		rapid.String(),
	)
	rapid.Check(t, func(t *rapid.T) {
		wl := &workload{}
		for range rapid.IntRange(1, 20).Draw(t, "reviews") {
			n := name.Draw(t, "name")
			got, ok := wl.approval(n).(string)
			if !ok || got != n+" approves" {
				t.Fatalf("approval(%q) = %q, want %q", n, got, n+" approves")
			}
		}
	})
}
