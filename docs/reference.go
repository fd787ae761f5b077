package docs

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// The API reference at /docs is rendered on the server from the embedded
// OpenAPI document: one self-contained HTML page, its CSS inline, nothing
// fetched from the internet (government intranets are offline), and always
// the document this binary serves at /openapi.yaml.

//go:embed reference.html
var referenceTemplate string

var (
	referenceOnce sync.Once
	referencePage []byte
	referenceErr  error
)

// Reference returns the HTML API reference, rendered once.
func Reference() ([]byte, error) {
	referenceOnce.Do(func() { referencePage, referenceErr = renderReference(OpenAPI) })
	return referencePage, referenceErr
}

type refPage struct {
	Title, Version string
	Intro          template.HTML
	Tags           []refTag
	Schemas        []refSchema
}

type refTag struct {
	Name        string
	Description string
	Ops         []refOp
}

type refOp struct {
	Anchor, Method, Path, Summary, ID string
	Roles                             []string
	Description                       template.HTML
	Params                            []refParam
	Body                              *refBody
	Responses                         []refResponse
}

type refParam struct {
	Name, In, Type, Description string
	Required                    bool
}

type refBody struct {
	Types    []string
	Schema   template.HTML
	Examples []refExample
}

type refExample struct {
	Name, Summary, Value string
}

type refResponse struct {
	Status, Description string
	Schema              template.HTML
}

type refSchema struct {
	Name        string
	Description template.HTML
	Body        template.HTML
}

var md = goldmark.New(goldmark.WithExtensions(extension.Table))

func markdown(s string) template.HTML {
	var b bytes.Buffer
	if err := md.Convert([]byte(s), &b); err != nil {
		return template.HTML(template.HTMLEscapeString(s))
	}
	return template.HTML(b.String())
}

func renderReference(src []byte) ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(src)
	if err != nil {
		return nil, fmt.Errorf("docs: parse openapi.yaml: %w", err)
	}
	p := refPage{Title: doc.Info.Title, Version: doc.Info.Version, Intro: markdown(doc.Info.Description)}
	byTag := map[string]*refTag{}
	var order []string
	for _, t := range doc.Tags {
		byTag[t.Name] = &refTag{Name: t.Name, Description: t.Description}
		order = append(order, t.Name)
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if byTag[tag] == nil {
				byTag[tag] = &refTag{Name: tag}
				order = append(order, tag)
			}
			byTag[tag].Ops = append(byTag[tag].Ops, operation(method, path, item, op))
		}
	}
	for _, name := range order {
		if t := byTag[name]; len(t.Ops) > 0 {
			p.Tags = append(p.Tags, *t)
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := doc.Components.Schemas[name]
		p.Schemas = append(p.Schemas, refSchema{Name: name, Description: markdown(s.Value.Description), Body: schemaHTML(s, 0, true)})
	}
	t, err := template.New("reference").Parse(referenceTemplate)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, p); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func operation(method, path string, item *openapi3.PathItem, op *openapi3.Operation) refOp {
	o := refOp{
		Anchor: strings.ToLower(method) + "-" + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(strings.Trim(path, "/")),
		Method: method, Path: path, Summary: op.Summary, ID: op.OperationID, Description: markdown(op.Description),
	}
	if roles, ok := op.Extensions["x-roles"].([]any); ok {
		for _, r := range roles {
			o.Roles = append(o.Roles, fmt.Sprint(r))
		}
	}
	for _, ps := range [][]*openapi3.ParameterRef{item.Parameters, op.Parameters} {
		for _, pr := range ps {
			if pr == nil || pr.Value == nil {
				continue
			}
			v := pr.Value
			o.Params = append(o.Params, refParam{Name: v.Name, In: v.In, Type: typeName(v.Schema), Description: v.Description, Required: v.Required})
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		b := &refBody{}
		types := make([]string, 0, len(op.RequestBody.Value.Content))
		for ct := range op.RequestBody.Value.Content {
			types = append(types, ct)
		}
		sort.Strings(types)
		b.Types = types
		for _, ct := range types {
			mt := op.RequestBody.Value.Content[ct]
			if b.Schema == "" && mt.Schema != nil {
				b.Schema = schemaHTML(mt.Schema, 0, true)
			}
			b.Examples = append(b.Examples, examples(mt)...)
		}
		o.Body = b
	}
	if op.Responses != nil {
		codes := make([]string, 0, op.Responses.Len())
		for code := range op.Responses.Map() {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		for _, code := range codes {
			r := op.Responses.Value(code)
			if r == nil || r.Value == nil {
				continue
			}
			rr := refResponse{Status: code}
			if r.Value.Description != nil {
				rr.Description = *r.Value.Description
			}
			for _, ct := range sortedKeys(r.Value.Content) {
				if s := r.Value.Content[ct].Schema; s != nil {
					rr.Schema = schemaHTML(s, 0, false)
					break
				}
			}
			o.Responses = append(o.Responses, rr)
		}
	}
	return o
}

func examples(mt *openapi3.MediaType) []refExample {
	var out []refExample
	if mt.Example != nil {
		out = append(out, refExample{Name: "example", Value: exampleText(mt.Example)})
	}
	for _, name := range sortedKeys(mt.Examples) {
		ex := mt.Examples[name]
		if ex == nil || ex.Value == nil {
			continue
		}
		out = append(out, refExample{Name: name, Summary: ex.Value.Summary, Value: exampleText(ex.Value.Value)})
	}
	return out
}

func exampleText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := jsonIndent(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// typeName is a schema's type as a reader wants it: a reference's name,
// array of X, or the type with its format.
func typeName(s *openapi3.SchemaRef) string {
	if s == nil {
		return ""
	}
	if s.Ref != "" {
		return refName(s.Ref)
	}
	v := s.Value
	if v == nil || v.Type == nil {
		if v != nil && (len(v.OneOf) > 0 || len(v.AnyOf) > 0) {
			return "one of"
		}
		return "any"
	}
	t := strings.Join(v.Type.Slice(), "|")
	if t == "array" {
		return "array of " + typeName(v.Items)
	}
	if v.Format != "" {
		t += " (" + v.Format + ")"
	}
	return t
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

// schemaHTML renders a schema as nested lists of its properties. A named
// component met below the top is linked, not expanded, so the page stays
// finite whatever the references' cycles.
func schemaHTML(s *openapi3.SchemaRef, depth int, expand bool) template.HTML {
	if s == nil {
		return ""
	}
	if s.Ref != "" && (!expand || depth > 0) {
		n := refName(s.Ref)
		return template.HTML(fmt.Sprintf(`<a class="ref" href="#schema-%s">%s</a>`, template.HTMLEscapeString(n), template.HTMLEscapeString(n)))
	}
	v := s.Value
	if v == nil {
		return ""
	}
	var b strings.Builder
	switch {
	case len(v.Properties) > 0:
		b.WriteString(`<ul class="props">`)
		for _, name := range sortedKeys(v.Properties) {
			ps := v.Properties[name]
			fmt.Fprintf(&b, `<li><code>%s</code> <span class="type">%s</span>`, template.HTMLEscapeString(name), template.HTMLEscapeString(typeName(ps)))
			if slices.Contains(v.Required, name) {
				b.WriteString(` <span class="req">required 必填</span>`)
			}
			if pv := ps.Value; pv != nil {
				b.WriteString(constraints(pv))
				if pv.Description != "" && ps.Ref == "" {
					fmt.Fprintf(&b, `<div class="desc">%s</div>`, markdown(pv.Description))
				}
				if ps.Ref == "" && depth < 4 {
					if len(pv.Properties) > 0 || len(pv.OneOf) > 0 {
						b.WriteString(string(schemaHTML(ps, depth+1, true)))
					} else if pv.Items != nil && pv.Items.Ref == "" && pv.Items.Value != nil && len(pv.Items.Value.Properties) > 0 {
						b.WriteString(string(schemaHTML(pv.Items, depth+1, true)))
					}
				}
			}
			b.WriteString(`</li>`)
		}
		b.WriteString(`</ul>`)
	case len(v.OneOf) > 0 || len(v.AnyOf) > 0:
		alts := v.OneOf
		if len(alts) == 0 {
			alts = v.AnyOf
		}
		b.WriteString(`<div class="oneof">one of 以下之一:<ul>`)
		for _, a := range alts {
			fmt.Fprintf(&b, `<li>%s</li>`, schemaHTML(a, depth+1, false))
		}
		b.WriteString(`</ul></div>`)
	case v.Items != nil:
		fmt.Fprintf(&b, `<div>array of %s</div>`, schemaHTML(v.Items, depth+1, false))
	default:
		fmt.Fprintf(&b, `<span class="type">%s</span>%s`, template.HTMLEscapeString(typeName(s)), constraints(v))
	}
	return template.HTML(b.String())
}

func constraints(v *openapi3.Schema) string {
	var parts []string
	if len(v.Enum) > 0 {
		vals := make([]string, len(v.Enum))
		for i, e := range v.Enum {
			vals[i] = fmt.Sprint(e)
		}
		parts = append(parts, "one of: "+strings.Join(vals, ", "))
	}
	if v.Pattern != "" {
		parts = append(parts, "pattern "+v.Pattern)
	}
	if v.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("≤ %d chars", *v.MaxLength))
	}
	if v.MaxItems != nil {
		parts = append(parts, fmt.Sprintf("≤ %d items", *v.MaxItems))
	}
	if v.Nullable {
		parts = append(parts, "nullable")
	}
	if len(parts) == 0 {
		return ""
	}
	return ` <span class="cons">` + template.HTMLEscapeString(strings.Join(parts, "; ")) + `</span>`
}

func jsonIndent(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}
