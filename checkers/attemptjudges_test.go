package checkers

import (
	"reflect"
	"testing"
)

// TestAttemptJudgesReused holds AttemptJudges, whose state is kept from one history to the
// next, to Attempts on fresh state: every history judged in turn by one AttemptJudges, twice
// over, gives exactly Attempts' violations, so nothing of one history is seen by the next.
func TestAttemptJudgesReused(t *testing.T) {
	stories := attemptStories()

	var a AttemptJudges
	found := 0
	for range 2 {
		for n, s := range stories {
			want := Attempts(s.h, s.l)
			found += len(want)
			if got := a.Judge(&s.h, s.l); !reflect.DeepEqual(got, want) {
				t.Fatalf("story %d: reused judges found %v, fresh ones %v", n, got, want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no story broke anything: the test proves nothing")
	}
}
