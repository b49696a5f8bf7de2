package sim

import (
	"fmt"
	"reflect"
)

// SpareTailsAreZero reports the first slot of the recycled world's history, up to the array's
// capacity, that is not zero: newEvent takes those slots as they are. A world left to a kept
// history has nothing to check.
func (r *ReusedWorld) SpareTailsAreZero() error {
	if r.w == nil {
		return nil
	}
	evs := r.w.spare.events
	for i, e := range evs[:cap(evs)] {
		if !reflect.ValueOf(e).IsZero() {
			return fmt.Errorf("history slot %d of %d holds %+v", i, cap(evs), e)
		}
	}
	return nil
}
