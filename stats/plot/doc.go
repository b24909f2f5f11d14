// Package plot draws krslab's figures with gonum/plot's vector graphics:
// the forest plot of effects, the per-arm answer distribution of one outcome,
// the timeline of the primary outcome and the priority matrix of an outcome's
// drivers. Every figure is drawn once, on a vg canvas, and encoded as PNG or
// SVG from the same drawing code.
//
// The package knows nothing about experiments: callers (api/report) hand it
// small input types with labels already translated and numbers already in
// the unit they want shown. Its own fixed texts (titles, legends, axis names)
// and every number it writes come from stats/i18n in Options.Lang, the same
// catalogue and formats as the report's, so a figure and the page around it
// agree to the sign and the decimal comma.
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
// metrics, and with them the layout, do not depend on the machine; a PNG's text
// is kerned at the size it is drawn (see rasterCanvas). An SVG's text is drawn by
// the reader's browser, in Liberation Sans or in Arial or Helvetica, which have its
// metrics (svgFonts).
package plot
