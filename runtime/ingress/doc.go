// Package ingress owns Vigil's ingress API: the requests a client can make (call, send, attach,
// output, resolve or reject an awakeable) as plain Go values, and the mapping of Restate's HTTP
// routes onto them.
//
// The engine is a step machine that answers a request only after its write is durable, and the
// simulator can never block, so the HTTP layer is split into pure functions that production and
// simulation share:
//
//   - Decode turns an *http.Request into a Request or an *Error. It checks routing and syntax only
//     (the awakeable ID parses, a JSON body is JSON, the body is not too large); which services,
//     handlers and invocations exist is for the engine to say.
//   - ErrorResponse, OutputResponse, FailureResponse, AcceptedResponse and
//     AwakeableAcceptedResponse build the Response values the engine replies with, in Restate's
//     body shapes.
//   - Encode writes a Response to an http.ResponseWriter.
//
// NewHandler glues them into an http.Handler for production: decode, submit to a Backend, wait
// for the reply (or for the client to leave), encode. The simulator calls Decode and Encode
// in-process with its own recorder instead, so both drive exactly the same mapping.
//
// This package must not import the engine (the engine imports it for the value types); it
// depends only on runtime/protocol for ID syntax.
package ingress
