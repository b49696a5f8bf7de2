package mutant

import "testing"

func TestCatalogue(t *testing.T) {
	all := All()
	if len(all) == 0 {
		t.Fatal("empty catalogue")
	}
	seen := map[string]bool{}
	for _, id := range all {
		name := id.String()
		if name == "" || name == "unknown" || name == "none" || seen[name] {
			t.Fatalf("mutant %d has a bad or repeated name %q", id, name)
		}
		seen[name] = true
		back, ok := Parse(name)
		if !ok || back != id {
			t.Fatalf("Parse(%q) = %v, %v; want %v", name, back, ok, id)
		}
	}
	if _, ok := Parse("no-such-mutant"); ok {
		t.Fatal("Parse accepted an unknown name")
	}
}

func TestOffByDefault(t *testing.T) {
	for _, id := range All() {
		if On(id) {
			t.Fatalf("mutant %s is planted in a build that did not plant it", id)
		}
	}
	if Enabled && !Plant(None) {
		t.Fatal("Plant(None) failed in a mutant build")
	}
}
