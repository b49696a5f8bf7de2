package scenarios

import "testing"

func TestRegistry(t *testing.T) {
	names := Names()
	if len(names) != len(All()) || len(names) == 0 {
		t.Fatalf("Names() = %v", names)
	}
	for _, n := range names {
		sc, ok := Lookup(n)
		if !ok || sc.Name != n || sc.New == nil || sc.Description == "" {
			t.Fatalf("Lookup(%q) = %+v, %v", n, sc, ok)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup found a scenario that does not exist")
	}
}
