package runio

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// JSONDifferences compares two JSON objects, a run's recorded
// configuration (there) and the one asked for now (here), and returns one
// line per field in which they differ, "key: X there, Y here", with the
// keys of nested objects joined by dots ("model.hidden"), sorted by key; a
// field that one side lacks is shown as "absent". It returns nil when the
// objects are equal as JSON values (whatever the order of their keys), and
// an error when either is not JSON.
func JSONDifferences(there, here []byte) ([]string, error) {
	var a, b any
	if err := json.Unmarshal(there, &a); err != nil {
		return nil, fmt.Errorf("runio: %w", err)
	}
	if err := json.Unmarshal(here, &b); err != nil {
		return nil, fmt.Errorf("runio: %w", err)
	}
	var diffs []string
	jsonDiff(&diffs, "", a, b)
	return diffs, nil
}

func jsonDiff(diffs *[]string, key string, a, b any) {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		var keys []string
		for k := range ma {
			keys = append(keys, k)
		}
		for k := range mb {
			if _, ok := ma[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := k
			if key != "" {
				sub = key + "." + k
			}
			va, inA := ma[k]
			vb, inB := mb[k]
			switch {
			case !inA:
				*diffs = append(*diffs, fmt.Sprintf("%s: absent there, %s here", sub, jsonText(vb)))
			case !inB:
				*diffs = append(*diffs, fmt.Sprintf("%s: %s there, absent here", sub, jsonText(va)))
			default:
				jsonDiff(diffs, sub, va, vb)
			}
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		if key == "" {
			key = "(the whole value)"
		}
		*diffs = append(*diffs, fmt.Sprintf("%s: %s there, %s here", key, jsonText(a), jsonText(b)))
	}
}

// jsonText writes a decoded JSON value back as JSON.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
