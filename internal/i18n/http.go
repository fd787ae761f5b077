package i18n

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"
)

// Middleware resolves each request's language (FromRequest), puts it on the
// request's context (From) for handlers that render words themselves, and,
// for a request that asks for Chinese, renders every JSON answer's words for
// people in Chinese as the answer is written: the value of each member
// named "message" (errors, field errors, claim reasons, import errors), and
// the "description" of each line of a "breakdown". Everything else — codes, field names,
// amounts, ids — passes through unchanged, whichever handler wrote the
// answer: the error envelope, a batch's item errors, a claim, a list of
// claims, a replayed stored answer.
//
// It must run outside every middleware that renders errors (web.Observe
// renders them as the envelope), so that the envelope is written through
// it too. English answers are not touched at all: they are the bytes the
// handler wrote.
func Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			l := FromRequest(c.Request())
			c.SetRequest(c.Request().WithContext(With(c.Request().Context(), l)))
			if l == English {
				return next(c)
			}
			res := c.Response()
			w := &jsonTranslator{under: res.Writer, lang: l}
			res.Writer = w
			defer func() { res.Writer = w.under }()
			if err := next(c); err != nil {
				// Render the error here, while the answer still goes
				// through the translator.
				c.Error(err)
			}
			w.finish()
			return nil
		}
	}
}

// jsonTranslator holds back a JSON answer until the handler is done, then
// writes it translated; any other answer (CSV, XLSX, NDJSON streams, YAML)
// passes straight through.
type jsonTranslator struct {
	under   http.ResponseWriter
	lang    Lang
	decided bool
	hold    bool
	status  int
	buf     bytes.Buffer
}

func (w *jsonTranslator) Header() http.Header { return w.under.Header() }

func (w *jsonTranslator) WriteHeader(status int) {
	if w.decided {
		return
	}
	w.decided, w.status = true, status
	mt, _, _ := mime.ParseMediaType(w.under.Header().Get(echo.HeaderContentType))
	w.hold = mt == echo.MIMEApplicationJSON
	if !w.hold {
		w.under.WriteHeader(status)
	}
}

func (w *jsonTranslator) Write(b []byte) (int, error) {
	if !w.decided {
		w.WriteHeader(http.StatusOK)
	}
	if w.hold {
		return w.buf.Write(b)
	}
	return w.under.Write(b)
}

// Flush passes through for streamed answers; a held answer is written whole
// at the end.
func (w *jsonTranslator) Flush() {
	if w.hold {
		return
	}
	_ = http.NewResponseController(w.under).Flush()
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *jsonTranslator) Unwrap() http.ResponseWriter { return w.under }

// finish writes a held answer, translated.
func (w *jsonTranslator) finish() {
	if !w.hold {
		return
	}
	w.hold = false
	body := w.buf.Bytes()
	if out, err := TranslateJSON(w.lang, body); err == nil {
		body = out
	}
	h := w.under.Header()
	h.Set("Content-Language", w.lang.Tag())
	if h.Get(echo.HeaderContentLength) != "" {
		h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	}
	w.under.WriteHeader(w.status)
	_, _ = w.under.Write(body)
}

// TranslateJSON rewrites a JSON document with the value of every "message"
// member, and the "description" of each line of a "breakdown", translated
// into l (see Middleware). A message the catalogue does not know is given
// the Chinese name of its object's "code" (an error's) before the English
// words; an unknown breakdown line stays as it is. The document is otherwise copied token by token: same members,
// same order, same numbers; a trailing newline is kept.
func TranslateJSON(l Lang, doc []byte) ([]byte, error) {
	if l != Chinese {
		return doc, nil
	}
	lenient := []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}
	dec := jsontext.NewDecoder(bytes.NewReader(doc), lenient...)
	var out bytes.Buffer
	out.Grow(len(doc) + len(doc)/4)
	enc := jsontext.NewEncoder(&out, lenient...)

	// One frame per open object or list: in an object, whether the next
	// token is a name, the name of the value being read, and the object's
	// "code" when it came first (errors and reasons put it first); for any
	// container, the member it is the value of (an object in a list, the
	// list's), so that only a breakdown's descriptions are translated.
	type frame struct {
		object, wantName bool
		name, code, in   string
	}
	stack := []frame{{}}
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		top := &stack[len(stack)-1]
		kind := tok.Kind()
		switch {
		case kind == '}' || kind == ']':
			stack = stack[:len(stack)-1]
			top = &stack[len(stack)-1]
			if top.object {
				top.wantName = true
			}
		case top.object && top.wantName:
			top.name, top.wantName = tok.String(), false
		case kind == '{' || kind == '[':
			in := top.in
			if top.object {
				in = top.name
			}
			stack = append(stack, frame{object: kind == '{', wantName: kind == '{', in: in})
		default:
			if top.object {
				top.wantName = true
				if kind == '"' {
					switch top.name {
					case "code":
						top.code = tok.String()
					case "description":
						if top.in == "breakdown" {
							tok = jsontext.String(Message(l, tok.String()))
						}
					case "message":
						s := tok.String()
						t, ok := Translate(l, s)
						if !ok {
							t = fallback(top.code, s)
						}
						tok = jsontext.String(t)
					}
				}
			}
		}
		if err := enc.WriteToken(tok); err != nil {
			return nil, err
		}
	}
	// The encoder ends a top-level value with a newline; the answer keeps
	// the handler's ending (Echo's c.JSON writes one, a stored answer not).
	b := bytes.TrimSuffix(out.Bytes(), []byte("\n"))
	if bytes.HasSuffix(doc, []byte("\n")) {
		b = append(b, '\n')
	}
	return b, nil
}
