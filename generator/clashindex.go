package generator

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// The module-name index (see buildClashIndex) is a function of the template
// trees alone, and building it costs far more than rendering a project: it
// renders every backend variant and parses every generated Go file. So it is
// built once, when the templates change, and shipped: clashindex.json holds
// the index of the embedded trees with the digest of their sources. A
// generator whose parsed trees have that digest decodes it (well under a
// millisecond); any other trees (a test's, a fork's edited templates) get
// their index built as before. TestGoldenClashIndex fails when the file no
// longer matches what buildClashIndex computes from the embedded trees;
// SAASGEN_UPDATE=1 go test ./generator -run TestGolden rewrites it with the
// golden trees.
//
//go:embed clashindex.json
var shippedClashIndex []byte

// ClashIndexFile is the name of the shipped index, in this package's
// directory.
const ClashIndexFile = "clashindex.json"

// clashIndexRecord is the stored form of a clashIndex.
type clashIndexRecord struct {
	// Templates is the digest of the trees the index was built from
	// (treesDigest).
	Templates  string                            `json:"templates_sha256"`
	Order      []string                          `json:"order"`
	Forbidden  map[string]map[string]clashRecord `json:"forbidden"`
	ProbeDecls map[string][]string               `json:"probe_decls"`
	SQL        sqlIndexRecord                    `json:"sql"`
}

type clashRecord struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Kind int    `json:"kind"`
}

type sqlIndexRecord struct {
	Platform  map[string]string `json:"platform"`
	Relations []string          `json:"relations"`
	Idents    []string          `json:"idents"`
	Routes    map[string]string `json:"routes"`
}

// treesDigest identifies a pair of parsed template trees by their sources.
func treesDigest(project, module *TemplateSet) string {
	h := sha256.New()
	for _, s := range []*TemplateSet{project, module} {
		h.Write(s.digest[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// marshalClashIndex encodes x, built from trees with the given digest, as
// clashindex.json holds it: indented, keys sorted, so a template change shows
// as a readable diff.
func marshalClashIndex(x *clashIndex, digest string) ([]byte, error) {
	rec := clashIndexRecord{
		Templates:  digest,
		Order:      x.order,
		Forbidden:  make(map[string]map[string]clashRecord, len(x.forbidden)),
		ProbeDecls: x.probeDecls,
		SQL:        sqlIndexRecord{Platform: x.sql.platform, Relations: x.sql.relations, Idents: x.sql.idents, Routes: x.sql.routes},
	}
	for p, names := range x.forbidden {
		m := make(map[string]clashRecord, len(names))
		for name, cl := range names {
			m[name] = clashRecord{File: cl.file, Line: cl.line, Kind: cl.kind}
		}
		rec.Forbidden[p] = m
	}
	return marshalShipped(rec)
}

// marshalShipped encodes a shipped index (clashindex.json,
// formatindex.json): indented, map keys sorted, no HTML escaping, so a
// template change shows as a readable diff.
func marshalShipped(rec any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "\t")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unmarshalClashIndex decodes a stored index; ok is false when it was built
// from other trees than digest.
func unmarshalClashIndex(data []byte, digest string) (x *clashIndex, ok bool, err error) {
	var rec clashIndexRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, false, fmt.Errorf("module name check: %s: %w", ClashIndexFile, err)
	}
	if rec.Templates != digest {
		return nil, false, nil
	}
	x = &clashIndex{
		probe:      ModuleNames(clashProbeRaw),
		order:      rec.Order,
		forbidden:  make(map[string]map[string]clash, len(rec.Forbidden)),
		probeDecls: rec.ProbeDecls,
		sql:        &sqlIndex{platform: rec.SQL.Platform, relations: rec.SQL.Relations, idents: rec.SQL.Idents, routes: rec.SQL.Routes},
	}
	for p, names := range rec.Forbidden {
		m := make(map[string]clash, len(names))
		for name, cl := range names {
			m[name] = clash{file: cl.File, line: cl.Line, kind: cl.Kind}
		}
		x.forbidden[p] = m
	}
	return x, true, nil
}
