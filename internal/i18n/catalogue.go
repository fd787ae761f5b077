package i18n

import "sync"

// zh is the Chinese catalogue, compiled on first use.
var zh = sync.OnceValue(func() *catalogue {
	return compile(zhMessages, zhReasons, zhBreakdown)
})

// Translate returns msg, a text the code wrote in English, in language l:
// msg itself in English; in Chinese the catalogue's rendering, with ok false
// (and msg returned) when the catalogue does not know it.
func Translate(l Lang, msg string) (string, bool) {
	if l != Chinese || msg == "" {
		return msg, true
	}
	if out, ok := zh().translate(msg); ok {
		return out, true
	}
	return msg, false
}

// Message is Translate without the flag: msg in l, or msg as is.
func Message(l Lang, msg string) string {
	out, _ := Translate(l, msg)
	return out
}

// Name returns what people call a code of kind ("reason", "county",
// "category", "cause", "status", "error"…) in l. In English, and for a code
// the catalogue does not name, it is the code itself, as the API writes it.
func Name(l Lang, kind, code string) string {
	if l != Chinese {
		return code
	}
	return nameOr(kind, code)
}

// nameOr is the Chinese name of code, or code. A code quoted by %q is
// named too.
func nameOr(kind, code string) string {
	if n, ok := names[kind][code]; ok {
		return n
	}
	if len(code) > 2 && code[0] == '"' && code[len(code)-1] == '"' {
		if n, ok := names[kind][code[1:len(code)-1]]; ok {
			return n
		}
	}
	return code
}

// fallback is what a Chinese answer says for an error message the catalogue
// does not know: the kind of error in Chinese, then the English words, so
// that nothing the code said is lost.
func fallback(code, msg string) string {
	if n, ok := names["error"][code]; ok {
		return n + "：" + msg
	}
	return msg
}
