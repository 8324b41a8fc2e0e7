package bench

import (
	"fmt"
	"math"
	"strings"
)

// withRuns says when a figure is the median of several runs.
func withRuns(s string, f Figure) string {
	if len(f.Values) > 1 {
		return fmt.Sprintf("%s (median of %d)", s, len(f.Values))
	}
	return s
}

func maxOf(v []int64) int64 {
	var m int64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// num formats a figure for reading: thousands separated, about three significant
// digits for small numbers.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return group(int64(math.Round(v)))
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func ms(v float64) string {
	if v >= 1000 {
		return group(int64(math.Round(v))) + " ms"
	}
	return fmt.Sprintf("%.1f ms", v)
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }
