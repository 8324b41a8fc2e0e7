package bench

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Inputs is what one report is made of.
type Inputs struct {
	Bench     Benchmarks
	Collector CollectorRuns
	// SDKBytes is the SDK's script-tag build, minified and gzipped (0: not measured);
	// SDKFrom says where the figure comes from.
	SDKBytes int64
	SDKFrom  string
	// Files are the files read, with their modification times.
	Files []InputFile
}

// InputFile is one file the report read.
type InputFile struct {
	Path    string
	ModTime time.Time
}

// LoadInputs reads dir (.cache/bench): Go benchmark output from every *.txt file,
// the collector benchmark's *.json, *.rss_kb and overload.rss, and the SDK's size line
// from any *.txt. When no size line is found and sdkBuild (sdk-js/dist/clicktrail.min.js)
// exists, the SDK's size is that file gzipped here at the best compression. A missing
// dir gives empty inputs, not an error.
func LoadInputs(dir, sdkBuild string) (Inputs, error) {
	var in Inputs
	txts, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return in, err
	}
	slices.Sort(txts)
	for _, p := range txts {
		b, err := os.ReadFile(p)
		if err != nil {
			return in, err
		}
		if err := in.Bench.ParseBenchmarks(bytes.NewReader(b)); err != nil {
			return in, fmt.Errorf("%s: %w", p, err)
		}
		if n, ok := SDKSize(string(b)); ok && in.SDKBytes == 0 {
			in.SDKBytes, in.SDKFrom = n, "npm run test:size ("+filepath.Base(p)+")"
		}
		in.addFile(p)
	}
	if in.Collector, err = LoadCollectorRuns(dir); err != nil {
		return in, err
	}
	if len(in.Collector.Runs) > 0 {
		for _, name := range []string{"collector.json", "overload.rss"} {
			in.addFile(filepath.Join(dir, name))
		}
	}
	if in.SDKBytes == 0 && sdkBuild != "" {
		b, err := os.ReadFile(sdkBuild)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return in, err
		default:
			if in.SDKBytes, err = gzipSize(b); err != nil {
				return in, err
			}
			in.SDKFrom = "gzip -9 of " + sdkBuild + " (Go's compress/gzip; npm run test:size uses zlib)"
			in.addFile(sdkBuild)
		}
	}
	return in, nil
}

func (in *Inputs) addFile(p string) {
	if st, err := os.Stat(p); err == nil {
		in.Files = append(in.Files, InputFile{p, st.ModTime()})
	}
}

func gzipSize(b []byte) (int64, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(b); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}
