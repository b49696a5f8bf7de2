package ingress

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

// splitPathModel is splitPath as it was written first, over strings.Split with no bound on the
// number of segments, followed by the route decoders' own refusal of more than maxSegments.
func splitPathModel(path string) ([]string, *Error) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return nil, notFound(path)
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		if s == "" {
			return nil, notFound(path)
		}
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("the path %q is not valid percent-encoding: %v", path, err)}
		}
		segs[i] = u
	}
	if len(segs) > maxSegments {
		return nil, notFound(path)
	}
	return segs, nil
}

// TestSplitPathMatchesModel: the same segments and the same errors as the model, for paths of
// up to a dozen segments of characters that matter to splitting and unescaping.
func TestSplitPathMatchesModel(t *testing.T) {
	check := func(t assert.TestingT, path string) {
		var into [maxSegments]string
		segs, err := splitPath(path, &into)
		wantSegs, wantErr := splitPathModel(path)
		assert.Equal(t, wantErr, err, "path %q", path)
		assert.Equal(t, wantSegs, segs, "path %q", path)
	}
	for _, p := range []string{"", "/", "//", "/a", "/a/", "/restate/invocation/S/k/h/idem/attach", "/a/b/c/d/e/f/g/h",
		"/a/b/c/d/e/f/g/%zz", "/a/b/c/d/e/f/g//", "/%zz/b//", "/a//%zz", "/a%2Fb/c", "no-slash"} {
		check(t, p)
	}
	rapid.Check(t, func(rt *rapid.T) {
		seg := rapid.StringOfN(rapid.SampledFrom([]rune{'a', '/', '%', '2', 'F', 'z', '+'}), 0, 4, -1)
		parts := rapid.SliceOfN(seg, 0, 12).Draw(rt, "segments")
		check(rt, "/"+strings.Join(parts, "/"))
	})
}
