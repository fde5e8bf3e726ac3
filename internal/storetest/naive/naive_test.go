// SPDX-License-Identifier: Apache-2.0

package naive_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/storetest"
	"portolan/internal/storetest/naive"
)

// TestImportsNothingOfTheMerge keeps the oracle independent: its files may
// import the standard library and the domain package, nothing else (in
// particular not internal/merge, whose rules it checks).
func TestImportsNothingOfTheMerge(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path != "portolan" && strings.Contains(strings.SplitN(path, "/", 2)[0], ".") || strings.HasPrefix(path, "portolan/") {
				t.Errorf("%s imports %s; the oracle may import only the standard library and portolan", name, path)
			}
		}
	}
}

// TestConformance runs the whole suite on the oracle: it keeps the read
// contract (paging, counts, not-found errors, search) and the hand-checked
// rules, and agrees with the memory store on random histories.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		return naive.New(r)
	})
}
