package ingress_test

import (
	"testing"

	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		in   protocol.ServiceKind
		want ingress.ServiceKind
	}{
		{protocol.ServiceStateless, ingress.KindService},
		{protocol.ServiceObject, ingress.KindObject},
		{protocol.ServiceWorkflow, ingress.KindWorkflow},
		{protocol.ServiceKind(99), 0},
	} {
		if got := ingress.KindOf(tc.in); got != tc.want {
			t.Errorf("KindOf(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
