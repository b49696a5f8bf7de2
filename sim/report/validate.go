package report

import (
	"encoding/json"
	"fmt"
)

// ValidateTrace checks trace-event JSON as this package writes it, for tests here and in
// simrun: it parses as an object with "traceEvents"; every event has a name, ph, ts, pid and
// tid; every track an event uses is named by a thread_name metadata event; complete ("X")
// slices have a non-negative dur; instants ("i") have a scope (g, p or t); no timestamp is
// negative. It returns the number of events of each phase.
func ValidateTrace(b []byte) (map[string]int, error) {
	var f struct {
		TraceEvents []map[string]any `json:"traceEvents"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if f.TraceEvents == nil {
		return nil, fmt.Errorf("no traceEvents")
	}
	type track struct{ pid, tid float64 }
	named := map[track]bool{}
	var used []track
	phases := map[string]int{}
	for n, ev := range f.TraceEvents {
		for _, k := range []string{"name", "ph", "ts", "pid", "tid"} {
			if _, ok := ev[k]; !ok {
				return nil, fmt.Errorf("event %d has no %q: %v", n, k, ev)
			}
		}
		ph, _ := ev["ph"].(string)
		ts, okTs := ev["ts"].(float64)
		pid, okPid := ev["pid"].(float64)
		tid, okTid := ev["tid"].(float64)
		if !okTs || !okPid || !okTid || ts < 0 {
			return nil, fmt.Errorf("event %d: ts, pid and tid must be numbers, ts non-negative: %v", n, ev)
		}
		phases[ph]++
		tr := track{pid, tid}
		switch ph {
		case "M":
			if ev["name"] == "thread_name" {
				args, _ := ev["args"].(map[string]any)
				if name, _ := args["name"].(string); name == "" {
					return nil, fmt.Errorf("event %d: thread_name without a name: %v", n, ev)
				}
				named[tr] = true
			}
		case "X":
			dur, ok := ev["dur"].(float64)
			if !ok || dur < 0 {
				return nil, fmt.Errorf("event %d: a complete slice needs a non-negative dur: %v", n, ev)
			}
			used = append(used, tr)
		case "i":
			if s := ev["s"]; s != "g" && s != "p" && s != "t" {
				return nil, fmt.Errorf("event %d: an instant needs a scope g, p or t: %v", n, ev)
			}
			used = append(used, tr)
		default:
			return nil, fmt.Errorf("event %d: unexpected phase %q", n, ph)
		}
	}
	for _, tr := range used {
		if !named[tr] {
			return nil, fmt.Errorf("track pid %v tid %v has no thread_name", tr.pid, tr.tid)
		}
	}
	return phases, nil
}
