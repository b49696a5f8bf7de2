// Drives a Vigil host with Restate's official ingress client, @restatedev/restate-sdk-clients,
// and prints one JSON line per check on stdout:
//
//   {"check": NAME, "value": V, "requests": [...]}                      the client returned V
//   {"check": NAME, "error": {"status": S, "body": B}, "requests": ...}  HttpCallError (B parsed if JSON)
//   {"check": NAME, "error": {"message": M}, "requests": ...}           any other error
//
// "requests" lists what the client sent (method, path with query, the headers it set) and what
// came back (status, x-restate-id, x-restate-error-source), so the Go test can also assert the
// routes. The Go test (compat_test.go) decides what is right; this script only observes.
//
// Usage: node client.mjs SUITE   (SUITE is "main" or "gaps")
// Environment: VIGIL_URL (the ingress), VIGIL_HELPER_URL (the test's awakeable-ID lookup).

import * as clients from "@restatedev/restate-sdk-clients";

const url = process.env.VIGIL_URL;
const helper = process.env.VIGIL_HELPER_URL;
const suite = process.argv[2] ?? "main";
const { rpc } = clients;

// requests collects what the recording fetch saw since the current check began.
let requests = [];

function lowerKeys(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = String(v);
  return out;
}

async function recordingFetch(input, init) {
  const u = new URL(typeof input === "string" ? input : input.url);
  const entry = {
    method: init?.method ?? "GET",
    path: u.pathname + u.search,
    headers: lowerKeys(init?.headers),
  };
  requests.push(entry);
  const res = await fetch(input, init);
  entry.status = res.status;
  entry.invocationId = res.headers.get("x-restate-id");
  entry.errorSource = res.headers.get("x-restate-error-source");
  return res;
}

const rs = clients.connect({ url, fetch: recordingFetch });
// quiet is a client whose requests are not recorded, for polling.
const quiet = clients.connect({ url });

function parseMaybe(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function emit(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

async function check(name, fn) {
  requests = [];
  const line = { check: name };
  try {
    const v = await fn();
    line.value = v === undefined ? null : v;
  } catch (e) {
    if (e instanceof clients.HttpCallError) {
      line.error = { status: e.status, body: parseMaybe(e.responseText) };
    } else {
      line.error = { message: String(e?.stack ?? e) };
    }
  }
  line.requests = requests;
  emit(line);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// approvalAwakeable asks the Go test for the awakeable ID Approval logged for document.
async function approvalAwakeable(document) {
  const res = await fetch(`${helper}/awakeable?document=${encodeURIComponent(document)}`);
  if (!res.ok) throw new Error(`helper: ${res.status} ${await res.text()}`);
  return await res.text();
}

// ledgerHolding polls Ledger/{key}/read until a hold publishes its awakeable ID.
async function ledgerHolding(key) {
  const ledger = quiet.objectClient({ name: "Ledger" }, key);
  for (let i = 0; i < 500; i++) {
    const view = await ledger.read();
    if (view.holding) return view.holding;
    await sleep(10);
  }
  throw new Error(`Ledger ${key} never published a holding awakeable`);
}

async function mainSuite() {
  const approval = rs.serviceClient({ name: "Approval" });
  const echo = rs.serviceClient({ name: "Echo" });
  const echoSend = rs.serviceSendClient({ name: "Echo" });

  // A service call that waits on an awakeable, resolved by the client's resolveAwakeable.
  await check("service-call-resolved", async () => {
    const call = approval.requestHumanReview("doc-1");
    const id = await approvalAwakeable("doc-1");
    await rs.resolveAwakeable(id, "Looks good!");
    return await call;
  });

  // The same, rejected: the call fails with the rejection's terminal error. The call's failure
  // may arrive before the reject's own reply; a handler attached at once keeps Node from taking
  // it for an unhandled rejection (which ends the script) while the reject is still awaited.
  await check("service-call-rejected", async () => {
    const call = approval.requestHumanReview("doc-2");
    call.catch(() => {});
    const id = await approvalAwakeable("doc-2");
    await rs.rejectAwakeable(id, "Review rejected: insufficient documentation");
    return await call;
  });

  await check("generic-call", () =>
    rs.call({ service: "Echo", handler: "echo", parameter: { n: 1, s: "x" } }),
  );

  await check("call-no-parameter", () => echo.echo());

  await check("object-call", async () => {
    const ledger = rs.objectClient({ name: "Ledger" }, "acct/1");
    const a = await ledger.append("e1");
    const b = await ledger.append("e2");
    const view = await ledger.read();
    return { a, b, view };
  });

  await check("send-result", async () => {
    const send = await echoSend.echo("hi", rpc.sendOpts({ idempotencyKey: "send-1" }));
    const result = await rs.result(send);
    return { send, result };
  });

  await check("generic-send-result", async () => {
    const send = await rs.send({
      service: "Echo",
      handler: "echo",
      parameter: "generic",
      opts: rpc.sendOpts({ idempotencyKey: "send-2" }),
    });
    const result = await rs.result(send);
    return { send, result };
  });

  // Restate (and Vigil) attach by ID without an idempotency key; the client only refuses
  // it out of caution, so the flag is forced here.
  await check("attach-without-idempotency-key", async () => {
    const send = await echoSend.echo("plain");
    const result = await rs.result({ ...send, attachable: true });
    return { send, result };
  });

  await check("idempotent-call", async () => {
    const first = await echo.echo("first", rpc.opts({ idempotencyKey: "call-1" }));
    const second = await echo.echo("second", rpc.opts({ idempotencyKey: "call-1" }));
    const generic = await rs.call({
      service: "Echo",
      handler: "echo",
      parameter: "third",
      opts: rpc.opts({ idempotencyKey: "call-1" }),
    });
    return { first, second, generic };
  });

  await check("idempotent-send", async () => {
    const first = await echoSend.echo("one", rpc.sendOpts({ idempotencyKey: "send-3" }));
    const second = await echoSend.echo("two", rpc.sendOpts({ idempotencyKey: "send-3" }));
    const result = await rs.result(second);
    return { first, second, result };
  });

  // An exclusive handler holding its key on an awakeable whose ID it publishes in state.
  await check("awakeable-resolve", async () => {
    const ledger = rs.objectSendClient({ name: "Ledger" }, "held-1");
    const send = await ledger.hold("audit", rpc.sendOpts({ idempotencyKey: "hold-1" }));
    const id = await ledgerHolding("held-1");
    await rs.resolveAwakeable(id, "ok");
    const result = await rs.result(send);
    return { id, result };
  });

  // The host suspends waiting attempts after a short inactivity timeout: this resolve
  // reaches a suspended invocation, which replays.
  await check("awakeable-resolve-suspended", async () => {
    const ledger = rs.objectSendClient({ name: "Ledger" }, "held-2");
    const send = await ledger.hold("night", rpc.sendOpts({ idempotencyKey: "hold-2" }));
    const id = await ledgerHolding("held-2");
    await sleep(400);
    await rs.resolveAwakeable(id, "after a night");
    return await rs.result(send);
  });

  // A value the waiter cannot decode (hold awaits a string) is a terminal error in the waiter
  // (Vigil does better than Restate here, whose waiter retries forever).
  await check("awakeable-resolve-wrong-type", async () => {
    const ledger = rs.objectSendClient({ name: "Ledger" }, "held-4");
    const send = await ledger.hold("audit", rpc.sendOpts({ idempotencyKey: "hold-4" }));
    const id = await ledgerHolding("held-4");
    await rs.resolveAwakeable(id, { approvedBy: "ops" });
    return await rs.result(send);
  });

  let rejectedID, rejectedSend;
  await check("awakeable-reject", async () => {
    const ledger = rs.objectSendClient({ name: "Ledger" }, "held-3");
    rejectedSend = await ledger.hold("audit", rpc.sendOpts({ idempotencyKey: "hold-3" }));
    rejectedID = await ledgerHolding("held-3");
    await rs.rejectAwakeable(rejectedID, "denied by policy");
    return await rs.result(rejectedSend);
  });

  // Late completions are accepted (202) and dropped: the outcome stays the rejection.
  await check("awakeable-complete-again", async () => {
    await rs.resolveAwakeable(rejectedID, "too late");
    await rs.rejectAwakeable(rejectedID, "too late too");
    return await rs.result(rejectedSend);
  });

  await check("awakeable-malformed-id", () => rs.resolveAwakeable("sign_1notanid", "x"));

  // Workflows.
  const wf = rs.workflowClient({ name: "ReviewWorkflow" }, "wf-1");
  const never = rs.workflowClient({ name: "ReviewWorkflow" }, "never-started");
  await check("workflow-attach-unknown", () => never.workflowAttach());
  await check("workflow-output-unknown", () => never.workflowOutput());

  let submitted;
  await check("workflow-submit", async () => {
    submitted = await wf.workflowSubmit("doc-w");
    return submitted;
  });
  await check("workflow-submit-again", () => wf.workflowSubmit("other input"));
  await check("workflow-output-pending", async () => {
    const out = await wf.workflowOutput();
    return { ready: out.ready };
  });
  await check("workflow-run-again", () => wf.run("doc-w"));
  await check("workflow-submit-review", () => wf.submitReview("LGTM"));
  await check("workflow-attach", () => wf.workflowAttach());
  await check("workflow-output", () => wf.workflowOutput());
  await check("workflow-result-by-id", () => rs.result(submitted));
  await check("workflow-submit-review-again", () => wf.submitReview("second opinion"));

  // Errors the ingress raises itself.
  await check("unknown-service", () => rs.serviceClient({ name: "NoSuchService" }).go());
  await check("handler-terminal-error", () =>
    rs.serviceClient({ name: "Sleeper" }).sleep(-1),
  );
}

// gapsSuite holds the checks where Vigil and the client disagree; see compat_test.go.
async function gapsSuite() {
  // Retries: with a retry policy the client retries 5xx answers unless the server says, in
  // the x-restate-error-source header, that the error is the invocation's own.
  const retrying = clients.connect({
    url,
    fetch: recordingFetch,
    retry: { maxAttempts: 3, initialInterval: 5, maxInterval: 10 },
  });
  await check("terminal-failure-not-retried", async () => {
    const ledger = quiet.objectSendClient({ name: "Ledger" }, "gap-1");
    const send = await ledger.hold("audit", rpc.sendOpts({ idempotencyKey: "gap-1" }));
    const id = await ledgerHolding("gap-1");
    await quiet.rejectAwakeable(id, "denied");
    requests = [];
    return await retrying.result(send);
  });

  // A delayed send: the client asks for the delay with ?delay=1500ms.
  await check("delayed-send", async () => {
    const start = Date.now();
    const send = await rs.serviceSendClient({ name: "Echo" }).echo(
      "later",
      rpc.sendOpts({ delay: 1500, idempotencyKey: "delayed-1" }),
    );
    const result = await rs.result(send);
    return { result, elapsedMs: Date.now() - start };
  });
}

if (suite === "main") await mainSuite();
else if (suite === "gaps") await gapsSuite();
else throw new Error(`unknown suite ${suite}`);
