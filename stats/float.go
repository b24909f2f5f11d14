package stats

import (
	"encoding/json"
	"math"
	"strconv"
)

// Float is a float64 whose JSON form is null when the value is NaN or ±Inf.
// Undefined statistics are NaN throughout this package, and JSON has no NaN,
// so every statistic in a result marshals through Float.
type Float float64

// MarshalJSON writes null for NaN and ±Inf and the shortest round-tripping
// decimal otherwise.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads null as NaN so that a round trip keeps "undefined".
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}
