package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestHTMLInSlotsIsTheSamePage: drawing the figures side by side changes nothing of the
// page, each figure in its place, and trust's figure, drawn once, is in both sections.
func TestHTMLInSlotsIsTheSamePage(t *testing.T) {
	res, tl := fixture()
	var one bytes.Buffer
	if err := HTMLWithWaves(&one, res, tl, nil, "nl"); err != nil {
		t.Fatal(err)
	}
	for _, slots := range []int{2, 100} { // (two at a time, and more slots than figures)
		var buf bytes.Buffer
		if err := HTMLInSlots(&buf, res, tl, nil, "nl", slots); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), one.Bytes()) {
			t.Errorf("%d slots: the page differs from the one drawn in one slot", slots)
		}
	}
	// Trust in the KRS and in the building blocks: the same figure twice.
	page := one.String()
	var trust []string
	for _, img := range strings.Split(page, "<img ")[1:] {
		if strings.Contains(img, `alt="Vertrouwen`) || strings.Contains(img, `alt="Trust`) {
			trust = append(trust, img[:strings.Index(img, ">")])
		}
	}
	if len(trust) != 2 || trust[0] != trust[1] {
		t.Errorf("%d figures of trust, want the same one twice", len(trust))
	}
}
