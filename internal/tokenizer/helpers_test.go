package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testdataRoot holds the reference files. Files over ~1 MB are stored
// gzipped; modelDir unpacks them.
const testdataRoot = "../../testdata/tokenizer"

var unpackRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tokenizer-test-")
	if err != nil {
		panic(err)
	}
	unpackRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	unpackMu   sync.Mutex
	unpackDone = map[string]string{}
)

// modelDir returns a folder with the files of testdata/tokenizer/name, with
// *.gz files unpacked.
func modelDir(tb testing.TB, name string) string {
	tb.Helper()
	unpackMu.Lock()
	defer unpackMu.Unlock()
	if d, ok := unpackDone[name]; ok {
		return d
	}
	src := filepath.Join(testdataRoot, name)
	dst := filepath.Join(unpackRoot, name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data := readTestdata(tb, filepath.Join(name, e.Name()))
		out := strings.TrimSuffix(e.Name(), ".gz")
		if err := os.WriteFile(filepath.Join(dst, out), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	unpackDone[name] = dst
	return dst
}

// readTestdata reads testdata/tokenizer/rel, gunzipping a .gz file.
func readTestdata(tb testing.TB, rel string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(testdataRoot, rel))
	if err != nil {
		tb.Fatal(err)
	}
	if strings.HasSuffix(rel, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			tb.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			tb.Fatal(err)
		}
	}
	return data
}

// readJSONL decodes every line of a .jsonl file into a T.
func readJSONL[T any](tb testing.TB, rel string) []T {
	tb.Helper()
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(readTestdata(tb, rel)))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			tb.Fatalf("%s line %d: %v", rel, len(out)+1, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no lines", rel)
	}
	return out
}

type loadKey struct {
	name      string
	preferSPM bool
	file      string
}

var (
	loadMu    sync.Mutex
	loadCache = map[loadKey]*Tokenizer{}
)

// loadModel loads (once per test binary) the tokenizer of a testdata
// folder; file, if set, names the file in it to load instead of the folder.
func loadModel(tb testing.TB, name string, preferSPM bool, file string) *Tokenizer {
	tb.Helper()
	dir := modelDir(tb, name)
	loadMu.Lock()
	defer loadMu.Unlock()
	k := loadKey{name, preferSPM, file}
	if t, ok := loadCache[k]; ok {
		return t
	}
	path := dir
	if file != "" {
		path = filepath.Join(dir, file)
	}
	t, err := load(path, preferSPM)
	if err != nil {
		tb.Fatal(err)
	}
	loadCache[k] = t
	return t
}

func llama3(tb testing.TB) *Tokenizer { return loadModel(tb, "llama3", false, "") }
func llama2(tb testing.TB) *Tokenizer { return loadModel(tb, "llama2", false, "") }

// llama2SPM is Llama 2 from tokenizer.model, with the folder's configs.
func llama2SPM(tb testing.TB) *Tokenizer { return loadModel(tb, "llama2", true, "") }

func warAndPeace(tb testing.TB) string {
	return string(readTestdata(tb, "war_and_peace_1mb.txt.gz"))
}

func readIDs(tb testing.TB, rel string) []int32 {
	var ids []int32
	if err := json.Unmarshal(readTestdata(tb, rel), &ids); err != nil {
		tb.Fatal(err)
	}
	return ids
}
