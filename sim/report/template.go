package report

// pageHTML is report.html's template. Everything is inline and the page is complete without its
// script (the Chromium test reads the DOM as rendered); the script only adds navigation: a click
// on an event number opens the full trace at that event, a filter shows only the invocations a
// violation names, and porcupine's drawings (iframes whose srcdoc is porcupine's own page,
// escaped, so the file stays self-contained) are fitted to their content.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Scenario}} seed {{.Seed}}: {{len .Violations}} violation(s)</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
code, pre, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
pre { white-space: pre-wrap; word-break: break-all; background: #f6f6f6; padding: .5em; margin: .3em 0; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table.meta td:first-child { color: #666; padding-right: 1em; vertical-align: top; white-space: nowrap; }
.violation { border: 2px solid #c62828; background: #fff5f5; padding: .6em .8em; margin: .8em 0; border-radius: 4px; }
.violation .property { font-weight: bold; color: #c62828; }
.hl, tr.hl td { background: #ffe0e0 !important; }
table.events { border-collapse: collapse; width: 100%; }
table.events td { padding: 1px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
table.events td.text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
tr.target td { outline: 2px solid #1565c0; }
.inv { margin: .5em 0; border: 1px solid #ddd; border-radius: 4px; padding: .3em .6em; }
.inv.violated { border-color: #c62828; }
.inv summary { cursor: pointer; }
h1 code { font-size: inherit; }
.timeline { position: relative; background: #fafafa; border: 1px solid #eee; margin: .3em 0; overflow: hidden; }
.bar { position: absolute; height: 14px; border-radius: 2px; font-size: 10px; overflow: hidden; white-space: nowrap; color: #fff; padding-left: 2px; box-sizing: border-box; }
.a-done { background: #2e7d32; } .a-suspended { background: #1565c0; } .a-failed, .a-panicked { background: #ef6c00; }
.a-crashed, .a-aborted, .a-superseded { background: #6d4c41; } .a-replayed { background: #7b1fa2; } .a-open { background: #9e9e9e; }
.bar.flagged { outline: 2px solid #c62828; }
.tick { position: absolute; bottom: 2px; width: 2px; height: 8px; background: #555; }
.tick.flagged { background: #c62828; width: 4px; height: 14px; z-index: 1; }
.axis { display: flex; justify-content: space-between; color: #888; font-size: 11px; }
.legend span { display: inline-block; padding: 0 .4em; margin-right: .3em; color: #fff; border-radius: 2px; font-size: 11px; }
a.ev { color: #1565c0; cursor: pointer; text-decoration: none; }
.note { color: #555; }
iframe.porcupine { width: 100%; height: 420px; border: 1px solid #ddd; resize: vertical; }
</style>
</head>
<body>
<h1>Vigil: scenario <code>{{.Scenario}}</code> seed <code>{{.Seed}}</code> &mdash; {{len .Violations}} violation(s)</h1>
<table class="meta">
<tr><td>commit</td><td class="mono">{{.Commit}}</td></tr>
<tr><td>fault plan</td><td class="mono">{{.Plan}}</td></tr>
{{if .Figures}}<tr><td>run</td><td>{{.Figures}}</td></tr>{{end}}
<tr><td>reproduce</td><td><code>{{.Reproduce}}</code></td></tr>
<tr><td>shrink</td><td>{{.Shrink}}</td></tr>
{{range .Notes}}<tr><td>note</td><td><pre>{{.}}</pre></td></tr>{{end}}
</table>

<h2 id="violations">Violated properties</h2>
{{range .Violations}}<div class="violation" id="v{{.N}}">
<div><span class="property">{{.N}}. {{.Checker}}</span>{{if .Invocation}} &mdash; invocation <a class="ev mono" href="#inv-{{.Invocation}}" data-inv="{{.Invocation}}">{{.Invocation}}</a>{{end}}</div>
<pre class="message">{{.Message}}</pre>
{{if .WaitFor}}<div><b>wait-for graph</b> (the engine's view of what the unfinished invocation waits on, at the end of the run):</div>
<pre class="waitfor">{{.WaitFor}}</pre>{{end}}
{{if .Events}}<table class="events">{{range .Events}}<tr class="hl"><td><a class="ev" href="#e{{.Index}}" data-ev="{{.Index}}">#{{.Index}}</a></td><td class="text">{{.Text}}</td></tr>{{end}}</table>
{{else}}<div class="note">(the violation names no event)</div>{{end}}
</div>
{{end}}

<h2 id="timelines">Invocations</h2>
{{if .NoHistory}}<p class="note">No history was kept for this run (it panicked or was abandoned): there is no timeline.</p>{{else}}
<p class="note">One timeline per invocation, from its first event to its last (the run lasted {{.End}} of virtual time):
attempts as bars, one lane each where they overlap, events as ticks; red marks the events a violation names. Open an
invocation for its journal; hover a bar or a tick for its event.</p>
<div class="legend"><span class="a-done">done</span><span class="a-suspended">suspended</span><span class="a-failed">failed</span><span class="a-crashed">crashed/aborted/superseded</span><span class="a-replayed">replayed</span><span class="a-open">open at the end</span>
<label><input type="checkbox" id="only-violated"> only invocations a violation names</label></div>
{{range .Invs}}<details class="inv{{if .Violated}} violated{{end}}" id="inv-{{.ID}}"{{if .Violated}} open{{end}}>
<summary><code>{{.ID}}</code> {{.Target}}{{if .Violated}} <b style="color:#c62828">(violation)</b>{{end}}</summary>
<div class="timeline" style="height:{{.Height}}px">{{range .Bars}}<div class="bar {{.Class}}{{if .Flagged}} flagged{{end}}" style="{{.Style}}" title="{{.Title}}">{{.Label}}</div>{{end}}{{range .Marks}}<div class="tick{{if .Flagged}} flagged{{end}}" style="{{.Style}}" title="{{.Title}}"></div>{{end}}</div>
<div class="axis"><span>{{.From}}</span><span>{{.To}}</span></div>
<table class="events">{{range .Events}}<tr{{if .Flagged}} class="hl" title="named by violation {{.Flagged}}"{{end}}><td><a class="ev" href="#e{{.Index}}" data-ev="{{.Index}}">#{{.Index}}</a></td><td class="mono">{{.At}}</td><td>{{.Kind}}</td><td class="text">{{.Detail}}</td></tr>{{end}}</table>
</details>
{{end}}{{end}}

{{if .Faults}}<h2 id="faults">Faults and crashes</h2>
<table class="events">{{range .Faults}}<tr{{if .Flagged}} class="hl"{{end}}><td><a class="ev" href="#e{{.Index}}" data-ev="{{.Index}}">#{{.Index}}</a></td><td class="mono">{{.At}}</td><td>{{.Kind}}</td><td class="text">{{.Detail}}</td></tr>{{end}}</table>{{end}}

{{if .Trace}}<h2 id="trace">Full trace</h2>
<details id="trace-details"><summary>{{len .Trace}} events (violation events highlighted)</summary>
<table class="events">{{range .Trace}}<tr id="e{{.Index}}"{{if .Flagged}} class="hl" title="named by violation {{.Flagged}}"{{end}}><td>#{{.Index}}</td><td class="mono">{{.At}}</td><td>{{.Kind}}</td><td class="text">{{.Detail}}</td></tr>{{end}}</table>
</details>{{end}}

{{if .Linearizability}}<h2 id="linearizability">Promise linearizability (porcupine)</h2>
<p class="note">porcupine's visualisation of each promise the promise checker's violations concern: its operations on a
line per invocation (the time axis is the history's event numbers), the runtime's completions on a line of their own, and
the longest partial linearizations, in red where each one fails. Hover an operation for its journal entry and events;
click it for the linearizations that include it. Each is also saved beside this page.</p>
{{range .Linearizability}}<div class="porcupine">
<div><b>{{.Promise}}</b>: {{.Verdict}} &mdash; <code>{{.File}}</code></div>
<div class="note lines">lines: {{range $i, $l := .Lines}}{{if $i}}; {{end}}{{$l.N}} = <a class="ev mono" href="#inv-{{$l.Invocation}}">{{$l.Invocation}}</a>{{if $l.Target}} {{$l.Target}}{{end}}{{end}}</div>
<iframe class="porcupine" title="porcupine: {{.Promise}}" srcdoc="{{.Page}}"></iframe>
</div>
{{end}}{{else if .Promises}}<p class="note">Promise linearizability: no promise operation of the violations could be drawn
(the violation's message gives the operations).</p>{{end}}

<script>
(function () {
  var last = null;
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest('a.ev[data-ev]');
    if (!a) return;
    var row = document.getElementById('e' + a.getAttribute('data-ev'));
    if (!row) return;
    ev.preventDefault();
    document.getElementById('trace-details').open = true;
    if (last) last.classList.remove('target');
    row.classList.add('target');
    last = row;
    row.scrollIntoView({block: 'center'});
  });
  // Fit each porcupine drawing to its content once it has rendered, and say what it drew (the
  // srcdoc page shares this page's origin, so its document is readable).
  window.addEventListener('load', function () {
    document.querySelectorAll('iframe.porcupine').forEach(function (f) {
      try {
        var d = f.contentDocument;
        f.setAttribute('data-rendered', d.querySelectorAll('.history-rect').length + ' operations drawn');
        f.style.height = Math.min(d.documentElement.scrollHeight + 24, 1200) + 'px';
      } catch (e) {
        f.setAttribute('data-rendered', 'not readable: ' + e);
      }
    });
  });
  var only = document.getElementById('only-violated');
  if (only) only.addEventListener('change', function () {
    document.querySelectorAll('details.inv').forEach(function (d) {
      d.style.display = only.checked && !d.classList.contains('violated') ? 'none' : '';
    });
  });
})();
</script>
</body>
</html>
`
