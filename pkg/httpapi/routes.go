package httpapi

// Function names are the template.yaml logical ids of the Lambda functions.
const (
	FunctionGenerateKey = "GenerateKey"
	FunctionListKeys    = "ListKeys"
	FunctionDisableKey  = "DisableKey"
	FunctionEnableKey   = "EnableKey"
	FunctionDeleteKey   = "DeleteKey"
)

// Route is one API Gateway route: the same Method and Path appear as an
// HttpApi event of Function in template.yaml, and the local server serves
// exactly these. Path uses the {param} syntax that both API Gateway and
// net/http's ServeMux understand.
type Route struct {
	Method    string
	Path      string
	Function  string
	Operation string // unique per route; openapi.yaml's operationId
}

// Routes is the one route table of the service.
var Routes = []Route{
	{"POST", "/v1/teams/{teamId}/members/{memberId}/access-keys", FunctionGenerateKey, "generateAccessKey"},
	{"GET", "/v1/teams/{teamId}/members/{memberId}/access-keys", FunctionListKeys, "listMemberAccessKeys"},
	{"GET", "/v1/teams/{teamId}/access-keys", FunctionListKeys, "listTeamAccessKeys"},
	{"POST", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/disable", FunctionDisableKey, "disableAccessKey"},
	{"POST", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/enable", FunctionEnableKey, "enableAccessKey"},
	{"DELETE", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}", FunctionDeleteKey, "deleteAccessKey"},
}

// Functions lists the function names in route-table order, each once.
func Functions() []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range Routes {
		if !seen[r.Function] {
			seen[r.Function] = true
			names = append(names, r.Function)
		}
	}
	return names
}
