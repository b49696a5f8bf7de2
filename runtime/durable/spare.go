package durable

// SpareCalls keeps, for each of the first few handlers it is asked about, one call whose memory
// the next call of the same handler is prepared in (Handler.PrepareReusing): an executor between
// its attempts, the simulator's replay twin between its re-runs. Handlers are told apart by
// service and handler name, so it serves one set of services with unique names at a time (Reset
// forgets them); once every slot is taken, a new handler takes the slot taken longest ago. The
// zero SpareCalls is empty and ready. It is not safe for concurrent use.
type SpareCalls struct {
	slots [spareCallSlots]spareCall
	n     int // slots taken
	next  int // the slot a new handler takes once all are
}

// spareCallSlots bounds the handlers SpareCalls keeps a call for at once.
const spareCallSlots = 4

// spareCall is one slot of SpareCalls.
type spareCall struct {
	service, handler string
	call             Prepared
}

// Take returns the slot of the handler called handler of service and the spare call kept in it,
// or nil; the spare is the caller's from then on, to hand to PrepareReusing.
func (s *SpareCalls) Take(service, handler string) (slot int, spare Prepared) {
	for i := range s.n {
		if c := &s.slots[i]; c.handler == handler && c.service == service {
			spare, c.call = c.call, nil
			return i, spare
		}
	}
	i := s.n
	if i < len(s.slots) {
		s.n++
	} else {
		i, s.next = s.next, (s.next+1)%len(s.slots)
	}
	s.slots[i] = spareCall{service: service, handler: handler}
	return i, nil
}

// Put keeps call in slot (from Take; -1 keeps nothing) for the next call of its handler. call
// must be one that its handler's Prepare or PrepareReusing returned and whose caller is done
// with it (see PrepareReusing), or nil. If another handler took the slot in the meantime, the
// call is its spare now: PrepareReusing reuses only a spare of its own types, and then leaves
// nothing of the earlier call in the new one, so any handler's done call is a safe spare.
func (s *SpareCalls) Put(slot int, call Prepared) {
	if slot >= 0 {
		s.slots[slot].call = call
	}
}

// Reset forgets every slot and its call: the handlers they were for belong to a finished run.
func (s *SpareCalls) Reset() { *s = SpareCalls{} }

// Scrub lets go of all that the kept calls hold of the handlers that made them (their function,
// decoded input and output: a finished run's code and data), keeping the calls' memory, in
// their slots, for the handlers of the same names in a later run: PrepareReusing reuses only a
// spare of its own types and fills it afresh, so a scrubbed call is as good a spare as any. A
// call that cannot be scrubbed (not made by this package) is dropped.
func (s *SpareCalls) Scrub() {
	for i := range s.n {
		c := &s.slots[i]
		if sc, ok := c.call.(scrubbable); ok {
			sc.scrub()
		} else {
			c.call = nil
		}
	}
}

// scrubbable is a call that Scrub can empty.
type scrubbable interface{ scrub() }

// Empty reports whether s holds no slot.
func (s *SpareCalls) Empty() bool { return s.n == 0 }
