package experiment_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/krslab/krslab/experiment"
)

// plainStore is a Store without customer attributes.
type plainStore struct{ experiment.Store }

func TestSegmentsNeedASegmentStore(t *testing.T) {
	svc := experiment.NewService(plainStore{})
	ctx := context.Background()
	err := svc.RecordAttributes(ctx, []experiment.CustomerAttributes{{CustomerID: "c1", Attributes: map[string]string{"channel": "phone"}}})
	if experiment.ErrorCode(err) != experiment.Internal {
		t.Errorf("RecordAttributes: %v, want internal", err)
	}
	if _, err := svc.SegmentResults(ctx, "exp", "channel"); experiment.ErrorCode(err) != experiment.Internal {
		t.Errorf("SegmentResults: %v, want internal", err)
	}
	// A bad segment name is the caller's mistake, whatever the store.
	if _, err := svc.SegmentResults(ctx, "exp", "Channel"); experiment.ErrorCode(err) != experiment.Invalid {
		t.Errorf("SegmentResults(Channel): %v, want invalid", err)
	}
}

func TestSortSegmentValues(t *testing.T) {
	v := []string{"phone", experiment.NoSegment, "chat", "email"}
	experiment.SortSegmentValues(v)
	if fmt.Sprint(v) != "[chat email phone (none)]" {
		t.Errorf("%v", v)
	}
}

func TestCheckAttribute(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		ok          bool
	}{
		{"channel", "phone", true},
		{"nps_group", "detractor (0-6)", true},
		{"Channel", "phone", false},
		{"1channel", "phone", false},
		{"channel", "", false},
		{"channel", experiment.NoSegment, false},
		{"channel", "a\nb", false},
		{"channel", fmt.Sprintf("%0129d", 0), false},
	} {
		ok := experiment.CheckAttributeName(tc.name).IsZero() && experiment.CheckAttributeValue(tc.value).IsZero()
		if ok != tc.ok {
			t.Errorf("%q = %q: ok %v, want %v", tc.name, tc.value, ok, tc.ok)
		}
	}
}
