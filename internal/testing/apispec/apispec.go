// Package apispec reads the operations of openapi.yaml, for the tests that
// hold the route table, the client and the spec to one another.
package apispec

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/teamkeys/teamkeys"
)

// Operation is one operation of openapi.yaml.
type Operation struct {
	ID     string // operationId
	Method string // upper case
	Path   string // with {param}s
}

// PathParams is the number of the path's parameters.
func (o Operation) PathParams() int { return strings.Count(o.Path, "{") }

// Operations are openapi.yaml's operations, by path and method.
func Operations() ([]Operation, error) {
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(teamkeys.OpenAPIYAML, &spec); err != nil {
		return nil, err
	}
	var ops []Operation
	for path, item := range spec.Paths {
		for method, node := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string `yaml:"operationId"`
			}
			if err := node.Decode(&op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			ops = append(ops, Operation{ID: op.OperationID, Method: strings.ToUpper(method), Path: path})
		}
	}
	if len(ops) == 0 {
		return nil, errors.New("openapi.yaml has no operations")
	}
	slices.SortFunc(ops, func(a, b Operation) int { return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method) })
	return ops, nil
}
