package sim

// RunSeedFresh runs like RunSeed on a world made from nothing, which it then drops: what a reused
// world is compared with.
func RunSeedFresh(sc Scenario, opts Options) *Result {
	r, _ := runOn(&World{}, sc, opts)
	return r
}

// ReusedWorld is one world that runs seed after seed, recycled between them, never pooled; a run
// whose Result keeps its history leaves the world to it, and the next run gets a new one.
type ReusedWorld struct{ w *World }

// Run runs one seed on the world, as RunSeed does on a pooled one.
func (r *ReusedWorld) Run(sc Scenario, opts Options) *Result {
	if r.w == nil {
		r.w = &World{}
	}
	res, reusable := runOn(r.w, sc, opts)
	if !reusable {
		r.w = nil
	}
	return res
}
