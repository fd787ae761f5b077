// Package docs embeds the OpenAPI document that /openapi.yaml serves and the
// contract tests validate every request and answer against.
package docs

import _ "embed"

// OpenAPI is the OpenAPI 3 document of the Huimin API.
//
//go:embed openapi.yaml
var OpenAPI []byte
