package report

import (
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/i18n"
)

// The console shows what report.html says, in the same words and numbers, with its own
// layout and its figures drawn as inline SVG: these are the report's parts without their
// figures.

type (
	// RecommendationView is the recommendation in words: headline, reason, caveats,
	// guardrails and the decision once made.
	RecommendationView = recommendation
	// TableView is one group of outcomes (the KRS, the building blocks, loyalty, others):
	// a row per outcome with each arm's level and each treatment's effect.
	TableView = pageSection
	// QualityView is the data quality block: the split, the response check and the arms'
	// traffic.
	QualityView = quality
)

// Recommendation is the report's recommendation block.
func Recommendation(res experiment.Results, lang string) RecommendationView {
	return recommendationOf(res, i18n.Normalize(lang))
}

// Quality is the report's data quality block.
func Quality(res experiment.Results, lang string) QualityView {
	return qualityOf(res, i18n.Normalize(lang))
}

// Tables are the report's outcome tables, with their intros and the KRS diagnosis, without
// figures: each table's outcomes are in Keys (draw them with DistributionOf).
func Tables(res experiment.Results, lang string) []TableView {
	lang = i18n.Normalize(lang)
	var out []TableView
	for _, s := range sections(res, lang) {
		out = append(out, tableOf(res, s, lang))
	}
	return out
}

// ArmName is how readers know an arm in lang (its name; the key beside a name two arms
// share; the control's word for a control without one).
func ArmName(e experiment.Experiment, key, lang string) string { return armNameIn(e, key, lang) }

// StatusText is an experiment's status in words.
func StatusText(s experiment.Status, lang string) string { return statusText(s, i18n.Normalize(lang)) }

// ActionHeadline is the recommendation's headline ("Roll out Personal call-back") from its
// action and the arm's name, for the report, the console's experiment page and its list;
// srm says the split was broken.
func ActionHeadline(action, arm string, srm bool, lang string) string {
	switch action {
	case stats.ActionRollOut:
		return i18n.T(lang, "report.headline.roll_out", arm)
	case stats.ActionKeepControl:
		return i18n.T(lang, "report.headline.keep_control")
	case stats.ActionInvestigate:
		if srm {
			return i18n.T(lang, "report.headline.investigate_split")
		}
		return i18n.T(lang, "report.headline.investigate")
	}
	return i18n.T(lang, "report.headline.keep_running")
}
