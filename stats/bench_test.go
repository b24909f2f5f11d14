package stats_test

import (
	"testing"

	"github.com/krslab/krslab/stats"
)

var sink float64

func BenchmarkWelchFromMoments(b *testing.B) {
	t := stats.Moments{N: 5000, Sum: 5000 * 5.1, SumSq: 4999*1.96 + 5000*5.1*5.1}
	c := stats.Moments{N: 4800, Sum: 4800 * 4.9, SumSq: 4799*1.69 + 4800*4.9*4.9}
	b.ReportAllocs()
	for b.Loop() {
		sink = stats.WelchFromMoments(t, c, 0.05).PValue
	}
}

// BenchmarkMannWhitneyFromCounts: 10 levels, 10^7 answers in all. The
// counts path must not allocate per answer (0 allocs/op).
func BenchmarkMannWhitneyFromCounts(b *testing.B) {
	t := stats.Counts{Min: 0, N: []int64{300000, 400000, 500000, 600000, 700000, 600000, 500000, 500000, 500000, 400000}}
	c := stats.Counts{Min: 0, N: []int64{500000, 500000, 500000, 600000, 600000, 500000, 500000, 500000, 500000, 300000}}
	if n := t.Total() + c.Total(); n != 1e7 {
		b.Fatalf("%d answers", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		sink = stats.MannWhitneyFromCounts(t, c).PValue
	}
}

func BenchmarkAnalyze(b *testing.B) {
	d, outs := randomExperiment(1, stats.CorrectionHolm)
	b.ReportAllocs()
	for b.Loop() {
		stats.Analyze(d, outs)
	}
}

// BenchmarkOrdinal7Levels fits the proportional-odds model on a 1..7 answer
// scale with some 5,000 answers per arm, as a building block of a survey reads.
func BenchmarkOrdinal7Levels(b *testing.B) {
	t := stats.Counts{Min: 1, N: []int64{120, 260, 610, 1240, 1500, 910, 400}}
	c := stats.Counts{Min: 1, N: []int64{180, 350, 760, 1310, 1290, 740, 300}}
	benchmarkOrdinal(b, t, c)
}

// BenchmarkOrdinal11Levels: the 0..10 NPS question, some 5,000 answers per arm.
func BenchmarkOrdinal11Levels(b *testing.B) {
	t := stats.Counts{Min: 0, N: []int64{90, 60, 90, 130, 170, 420, 380, 700, 1050, 900, 1010}}
	c := stats.Counts{Min: 0, N: []int64{130, 80, 120, 160, 210, 480, 420, 760, 1030, 780, 830}}
	benchmarkOrdinal(b, t, c)
}

func benchmarkOrdinal(b *testing.B, t, c stats.Counts) {
	if o := stats.OrdinalFromCounts(t, c, 0.05); o == nil {
		b.Fatal("no fit")
	}
	b.ReportAllocs()
	for b.Loop() {
		sink = stats.OrdinalFromCounts(t, c, 0.05).LogOddsRatio
	}
}
