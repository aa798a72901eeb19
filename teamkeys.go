// Package teamkeys carries the files at the root of the repository that the
// code reads: the SAM template (the local table is created from its
// definition, and tests hold the route table against it) and the OpenAPI
// description.
package teamkeys

import _ "embed"

// TemplateYAML is template.yaml.
//
//go:embed template.yaml
var TemplateYAML []byte

// OpenAPIYAML is openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
