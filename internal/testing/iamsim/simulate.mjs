// simulate.mjs: AWS's policy evaluation logic, as @cloud-copilot/iam-simulate
// (pinned in package.json) implements it, for a batch of requests. iamsim.go
// runs it once per test.
//
// usage: node simulate.mjs <directory holding node_modules> < batch.json
//
// The batch: {"policies": {name: policy document},
//             "requests": [{"principal", "action", "resource", "account",
//                           "context": {key: string or [strings]},
//                           "identity": [policy names], "resourcePolicy": name or ""}]}
// The answer on stdout, one entry per request, in order: {"result":
// "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied", "ignored": context
// keys the simulator dropped as not taken by the action} or {"error": why the
// request could not be simulated (an invalid policy, action, resource)}.
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(path.join(path.resolve(process.argv[2] || '.'), 'package.json'))
const { runSimulation } = require('@cloud-copilot/iam-simulate')
const { loadPolicy } = require('@cloud-copilot/iam-policy')
// The engine behind runSimulation, for the one case below.
const dist = path.dirname(require.resolve('@cloud-copilot/iam-simulate'))
const { authorize } = require(path.join(dist, 'core_engine/CoreSimulatorEngine.js'))
const { AwsRequestImpl } = require(path.join(dist, 'request/request.js'))
const { RequestContextImpl } = require(path.join(dist, 'requestContext.js'))
const { DiscoveryContextKeyConstraints } = require(path.join(dist, 'context_keys/discoveryContextKeyConstraints.js'))

// evaluate is runSimulation's evaluation of a request it has validated,
// with the context as given. runSimulation (0.1.173) drops every
// kms:EncryptionContext:<key> as a key KMS does not take: it matches the
// action's variable keys (kms:EncryptionContext:${EncryptionContextKey})
// only up to a '/', and this one has a ':'. runUnsafeSimulation would keep
// them but fails on a resource policy (it loads it without a name).
function evaluate(simulation) {
  const named = (p) => loadPolicy(p.policy, { name: p.name })
  const request = new AwsRequestImpl(
    simulation.request.principal,
    simulation.request.resource,
    simulation.request.action,
    new RequestContextImpl(simulation.request.contextVariables)
  )
  return authorize({
    request,
    sessionPolicy: undefined,
    identityPolicies: simulation.identityPolicies.map(named),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: simulation.resourcePolicy
      ? named({ name: 'resource policy', policy: simulation.resourcePolicy })
      : undefined,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: {
      simulationMode: 'Strict',
      discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([])
    },
    serviceSettings: { s3: {} }
  }).result
}

const chunks = []
for await (const c of process.stdin) chunks.push(c)
const batch = JSON.parse(Buffer.concat(chunks).toString('utf8'))

// One request at a time reads iam-data's files one at a time: run them
// together, the answers kept in order.
const out = await Promise.all(batch.requests.map(simulate))
process.stdout.write(JSON.stringify(out))

async function simulate(r) {
  const simulation = {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.account },
      contextVariables: r.context || {}
    },
    identityPolicies: (r.identity || []).map((name) => ({ name, policy: batch.policies[name] })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: r.resourcePolicy ? batch.policies[r.resourcePolicy] : undefined
  }
  const res = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (res.resultType === 'error') {
    return { error: JSON.stringify(res.errors) }
  }
  if (res.resultType !== 'single') {
    return { error: `${r.resource}: a wildcard resource, name one` }
  }
  const ignored = res.result.ignoredContextKeys || []
  const context = ignored.filter((k) => k.toLowerCase().startsWith('kms:encryptioncontext:'))
  if (context.length === 0) {
    return { result: res.overallResult, ignored }
  }
  return { result: evaluate(simulation), ignored: ignored.filter((k) => !context.includes(k)) }
}
