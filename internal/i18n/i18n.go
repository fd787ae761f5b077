// Package i18n holds Huimin's words for people in more than one language:
// which language a request asks for (Accept-Language, or ?lang=), and the
// catalogue that turns what the code says in English — error and field
// messages, claim reasons, breakdown lines — into 简体中文, and names codes
// (reasons, counties, categories, causes) in Chinese (DESIGN §16, STYLE 13).
//
// The English text the code produces is the key. A catalogue entry pairs an
// English format, exactly as the code writes it ("no plan %q"), with a
// Chinese template that places the same arguments ("计划 {1} 不存在"); a
// message is translated by matching it against the formats and reading the
// arguments back. So nothing stored changes and nothing English changes,
// byte for byte: a claim stored before Chinese existed, or answered in
// English, reads the same; answered in Chinese its reasons and breakdown are
// rendered anew. Codes, field names and amounts are never translated.
package i18n

import (
	"context"
	"net/http"

	"golang.org/x/text/language"
)

// Lang is a language answers can be given in.
type Lang string

// The languages of DESIGN §16: English, the default, and Simplified Chinese.
const (
	English Lang = "en"
	Chinese Lang = "zh"
)

// supported are the languages in matcher order: the first is the default
// when nothing the client accepts is supported.
var supported = []language.Tag{language.English, language.SimplifiedChinese}

var matcher = language.NewMatcher(supported)

// Param is the query parameter that picks the language, before the
// Accept-Language header: ?lang=zh.
const Param = "lang"

// FromRequest returns the language r asks for: ?lang= when it names a
// language (zh, zh-CN, en…), else the best match of Accept-Language, else
// English. A language Huimin does not have is not an error: it is English.
func FromRequest(r *http.Request) Lang {
	if v := r.URL.Query().Get(Param); v != "" {
		if t, err := language.Parse(v); err == nil {
			return match(t)
		}
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		tags, _, err := language.ParseAcceptLanguage(h)
		if err == nil && len(tags) > 0 {
			return match(tags...)
		}
	}
	return English
}

// match picks English or Chinese for the client's tags in preference order.
// zh, zh-CN, zh-Hans and zh-SG are Chinese; traditional Chinese (zh-TW,
// zh-Hant) is Chinese too, the nearest Huimin has.
func match(tags ...language.Tag) Lang {
	_, i, conf := matcher.Match(tags...)
	if conf == language.No || i != 1 {
		return English
	}
	return Chinese
}

// Tag is the language's BCP 47 tag, for Content-Language.
func (l Lang) Tag() string {
	if l == Chinese {
		return "zh-CN"
	}
	return "en"
}

type ctxKey struct{}

// With returns ctx carrying l, for services that render words themselves
// (spreadsheets, pages).
func With(ctx context.Context, l Lang) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the language ctx carries, English when none.
func From(ctx context.Context) Lang {
	if l, ok := ctx.Value(ctxKey{}).(Lang); ok {
		return l
	}
	return English
}
