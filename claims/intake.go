package claims

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"huimin/internal/apperr"
	"huimin/internal/civil"
	"huimin/internal/rawjson"
	"huimin/internal/web"
	"huimin/policies"
)

// Input is a claim as an insurer submits it. Facts and evidence stay raw so
// that every nested field is checked and named.
type Input struct {
	Plan          string          `json:"plan"`
	ExternalRef   string          `json:"external_ref"`
	BeneficiaryID string          `json:"beneficiary_id"`
	EventDate     string          `json:"event_date"`
	Cause         string          `json:"cause"`
	Facts         json.RawMessage `json:"facts"`
	Evidence      json.RawMessage `json:"evidence"`
}

// checked is an input that passed intake: typed and normalised.
type checked struct {
	Input
	eventDate civil.Date
	facts     policies.Facts
	evidence  []Evidence
	hash      string // of the canonical request, for idempotent replays
}

var (
	goodRef      = regexp.MustCompile(`^[\p{L}\p{N}_.:/#-]{1,128}$`)
	goodKind     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	goodSHA256   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	maxEvidence  = 50
	maxURILength = 512
	// maxEvidenceBytes bounds the evidence list as stored (JSON in a TEXT
	// column of 65535 bytes). Fifty items within the per-item limits can
	// exceed it (512 four-byte characters per URI), which MariaDB refuses.
	maxEvidenceBytes = 60000
)

// decodeInput decodes one claim body strictly (web.Decode: unknown fields,
// repeated keys and bad text are 422). The plan is looked up before the
// other fields are checked, so its code is checked here (web.CheckPlanCode):
// one that is not well-formed names no plan, 404 on any database, and never
// reaches the lookup, where MariaDB's collation would take "ZKB-2026 " for
// ZKB-2026. An empty plan is left to the lookup, which says it is required.
func decodeInput(body []byte) (Input, error) {
	var in Input
	if err := web.Decode(body, &in); err != nil {
		return in, err
	}
	if in.Plan != "" {
		if err := web.CheckPlanCode("plan", in.Plan); err != nil {
			return in, err
		}
	}
	return in, nil
}

// requestHash identifies a claim body regardless of whitespace, so that a
// retried request with the same content replays and a different one does not.
// It hashes the body as json.Compact writes it, or as it is when it is not
// JSON. For a body that decoded, compactValid gives the same bytes in one
// pass that does not check the JSON again.
func requestHash(body []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		buf.Reset()
		buf.Write(body)
	}
	return hashOf(buf.Bytes())
}

// decodedHash is requestHash of a body that decoded as JSON.
func decodedHash(body []byte) string {
	return hashOf(compactValid(make([]byte, 0, len(body)), body))
}

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// compactValid appends valid JSON src to dst without the space between its
// tokens: json.Compact's output, for JSON already known to be valid.
func compactValid(dst, src []byte) []byte {
	inString, escaped := false, false
	for _, c := range src {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '"':
			inString = true
		}
		dst = append(dst, c)
	}
	return dst
}

// check validates every field of in against the plan (already loaded and
// active) and returns all field errors at once. now is the intake instant.
func check(in Input, plan policies.Plan, now time.Time) (checked, apperr.Fields) {
	var f apperr.Fields
	c := checked{Input: in}
	if !goodRef.MatchString(in.ExternalRef) {
		f.Add("external_ref", "must be 1 to 128 letters, digits or _ . : / # -")
	}
	if policies.DetectIDType(in.BeneficiaryID) == "" {
		f.Add("beneficiary_id", "must be a valid 18-character resident id (GB 11643) or unified social credit code (GB 32100)")
	}
	if d, err := civil.Parse(in.EventDate); err != nil {
		f.Add("event_date", "%v", err)
	} else if d > civil.Today(now) {
		f.Add("event_date", "must not be in the future (China time)")
	} else {
		c.eventDate = d
	}
	prog := programme(plan.Programme)
	if !prog.HasCause(in.Cause) {
		f.Add("cause", "must be one of %v for a %s plan", prog.Causes, plan.Programme)
	} else {
		facts, errs := policies.ParseFacts(plan.Programme, in.Cause, in.Facts)
		f.Merge("", errs)
		c.facts = facts
	}
	c.evidence = checkEvidence(in.Evidence, &f)
	return c, f
}

func checkEvidence(raw json.RawMessage, f *apperr.Fields) []Evidence {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return []Evidence{}
	}
	items, err := rawjson.Items(raw)
	if err != nil {
		f.Add("evidence", "must be a list of {kind, sha256, uri?}")
		return nil
	}
	if len(items) > maxEvidence {
		f.Add("evidence", "at most %d items", maxEvidence)
		return nil
	}
	out := make([]Evidence, 0, len(items))
	for i, item := range items {
		path := "evidence[" + strconv.Itoa(i) + "]"
		obj, err := rawjson.Members(item)
		if err != nil {
			f.Add(path, "must be an object {kind, sha256, uri?}")
			continue
		}
		var e Evidence
		for k, v := range obj {
			s, ok := rawjson.Text(v)
			if !ok && string(v) != "null" { // null reads as no text, as it always has
				if k == "kind" || k == "sha256" || k == "uri" {
					f.Add(path+"."+k, "must be a string")
				} else {
					f.Add(path+"."+k, "unknown field")
				}
				continue
			}
			switch k {
			case "kind":
				e.Kind = s
			case "sha256":
				e.SHA256 = s
			case "uri":
				e.URI = s
			default:
				f.Add(path+"."+k, "unknown field")
			}
		}
		if !goodKind.MatchString(e.Kind) {
			f.Add(path+".kind", "must match [a-z][a-z0-9_]{0,39}")
		}
		if !goodSHA256.MatchString(e.SHA256) {
			f.Add(path+".sha256", "must be 64 lowercase hex digits")
		}
		if utf8.RuneCountInString(e.URI) > maxURILength || !printableURI(e.URI) {
			f.Add(path+".uri", "must be at most %d printable characters", maxURILength)
		}
		out = append(out, e)
	}
	// Stored, a byte of the list grows to at most six (\u003c) and an item
	// gains at most its three keys: only a list that could outgrow the
	// column is encoded to measure it.
	if 6*len(raw)+48*len(out) > maxEvidenceBytes {
		if b, err := json.Marshal(out); err == nil && len(b) > maxEvidenceBytes {
			f.Add("evidence", "too large: at most %d bytes in all once stored; shorten the URIs", maxEvidenceBytes)
		}
	}
	return out
}

func printableURI(s string) bool {
	for _, r := range s {
		if r <= 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func evidenceKinds(ev []Evidence) []string {
	kinds := make([]string, len(ev))
	for i, e := range ev {
		kinds[i] = e.Kind
	}
	return kinds
}
