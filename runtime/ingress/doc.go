// Package ingress owns Vigil's ingress API: the requests a client can make (call or send to a
// plain service, a virtual object or a workflow; attach to or read the output of an invocation,
// by ID or by idempotency key; attach to or read the output of a workflow run; resolve or reject
// an awakeable) as plain Go values, and the mapping of Restate's HTTP routes onto them.
//
// The engine is a step machine that answers a request only after its write is durable, and the
// simulator can never block, so the HTTP layer is split into pure functions that production and
// simulation share:
//
//   - Decode turns an *http.Request into a Request or an *Error. It checks routing and syntax
//     only (the service exists with the kind the route needs, the awakeable ID parses, a JSON
//     body is JSON, the body is not too large); which handlers, invocations and workflow runs
//     exist is for the engine to say. DecodeRaw does the same from a RawRequest, the parts a
//     client writes (method, target, header, body), through the same decoding; it is how the
//     simulator's clients reach the ingress without building an *http.Request per request.
//   - ErrorResponse, OutputResponse, FailureResponse, AcceptedResponse, NotReadyResponse,
//     WorkflowAlreadyInvokedResponse and AwakeableAcceptedResponse build the Response values the
//     engine replies with, in Restate's body shapes.
//   - Encode writes a Response to an http.ResponseWriter.
//
// # Service kinds and keys
//
// A path /{a}/{b}/{c} is either a send to handler b of plain service a (when c is "send") or a
// call to handler c of virtual object or workflow a with key b, so Decode needs to know each
// service's kind. It asks a Services (ServiceKinds is a map-backed one); a nil Services treats
// every name as a plain service. Decode answers an unknown service with 404 "service 'X' not
// found", a plain service addressed with a key with 404, and a virtual object or workflow
// addressed without one with 400. Keys, like every path segment, are percent-decoded one
// segment at a time after splitting r.URL.EscapedPath(), so a key may hold any byte, a slash
// (%2F) included; Request.Key carries it decoded.
//
// Workflow rules that depend on state (a second synchronous run is 409 "the workflow method was
// already invoked", a second run/send is 202 PreviouslyAccepted, the output of an unfinished run
// is 470, of a key never started 404) are the engine's; the response builders give it the
// Restate wording.
//
// NewHandler glues them into an http.Handler for production: decode, submit to a Backend, wait
// for the reply (or for the client to leave), encode. The simulator calls DecodeRaw and the
// response builders in-process with its own recorder instead, so both drive exactly the same
// mapping.
//
// This package must not import the engine (the engine imports it for the value types); it
// depends only on runtime/protocol for ID syntax.
package ingress
