// Package plot draws krslab's figures with gonum/plot's vector graphics:
// the forest plot of effects, the per-arm answer distribution of one outcome,
// the timeline of the primary outcome and the priority matrix of an outcome's
// drivers. Every figure is drawn once, on a vg canvas, and encoded as PNG or
// SVG from the same drawing code.
//
// The package knows nothing about experiments: callers (api/report) hand it
// small input types with labels already translated and numbers already in
// the unit they want shown. The package translates only its own fixed texts
// (titles, legends, axis names) by Options.Lang.
//
// Undefined numbers are NaN, as in package stats; a row or point with NaN
// is drawn as "insufficient data" or left out, never as zero.
//
//	Effects(EffectsInput, Options) ([]byte, error)
//	Distribution(DistributionInput, Options) ([]byte, error)
//	Timeline(TimelineInput, Options) ([]byte, error)
//	Drivers(DriversInput, Options) ([]byte, error)
//
// Sizes are in CSS pixels (1 px = 0.75 pt). A PNG has exactly Width x Height
// pixels times Options.Scale; an SVG declares width="Wpx" height="Hpx" with a
// viewBox in points. Fonts are gonum/plot's embedded Liberation Sans, so text
// metrics, and with them the layout, do not depend on the machine.
package plot
