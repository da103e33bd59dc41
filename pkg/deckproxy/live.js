// Served by prowctl's Deck proxy (pkg/deckproxy) into Deck's job lists.
//
// This Deck renders its job list once, from the prowjobs.js the page loads.
// Every 2 s this re-reads that file and, when it changed, runs it (it
// reassigns the global allBuilds) and redraws through Deck's own popstate
// handler, which keeps the filters of the page's URL. Deck itself re-reads
// the ProwJobs every 30 s (pkg/deck/jobs): a change shows within 2 s of
// Deck knowing it.
(function () {
  "use strict";
  var script = document.querySelector('script[src^="prowjobs.js"]');
  if (!script) {
    return;
  }
  var src = script.getAttribute("src");
  var last = null;
  function tick() {
    if (document.hidden) {
      setTimeout(tick, 2000);
      return;
    }
    fetch(src, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text !== null && text !== last) {
          (0, eval)(text);
          window.dispatchEvent(new PopStateEvent("popstate"));
          window.prowctlRedraws = (window.prowctlRedraws || 0) + 1;
          last = text;
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(tick, 2000); });
  }
  // The first read redraws too: the jobs may have changed since the page
  // loaded prowjobs.js.
  window.addEventListener("load", function () { tick(); });
})();
