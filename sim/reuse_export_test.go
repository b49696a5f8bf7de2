package sim

// RunSeedFresh runs like RunSeed on a world made from nothing, which it then drops: what a reused
// world is compared with.
func RunSeedFresh(sc Scenario, opts Options) *Result { return runOn(&World{}, sc, opts) }

// ReusedWorld is one world that runs seed after seed, recycled between them, never pooled.
type ReusedWorld struct{ w World }

// Run runs one seed on the world, as RunSeed does on a pooled one.
func (r *ReusedWorld) Run(sc Scenario, opts Options) *Result { return runOn(&r.w, sc, opts) }
