// werkbot office web app: live updates over server-sent events, and the cue for a new
// emergency. Hand-written, no build step; the pages work without it (reload by hand).
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-live");
  if (!url || !window.EventSource) { return; }
  var alertBox = document.getElementById("alert");
  var last = null;

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = new Ctx();
      [0, 0.35].forEach(function (start) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.2;
        osc.connect(gain);
        gain.connect(ctx.destination);
        osc.start(ctx.currentTime + start);
        osc.stop(ctx.currentTime + start + 0.25);
      });
    } catch (e) { /* no sound: the banner still shows */ }
  }

  function show(text) {
    alertBox.textContent = text;
    alertBox.hidden = false;
  }

  function refresh() {
    var typing = document.activeElement && document.activeElement.tagName === "TEXTAREA";
    fetch(window.location.href, { credentials: "same-origin" }).then(function (resp) {
      if (resp.status !== 200) { return null; }
      return resp.text();
    }).then(function (html) {
      if (!html) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("live");
      var here = document.getElementById("live");
      if (fresh && here && !typing) {
        here.innerHTML = fresh.innerHTML;
      }
      body.setAttribute("data-updated", String(Date.now()));
    });
  }

  var source = new EventSource(url);
  source.addEventListener("change", function (ev) {
    var now = JSON.parse(ev.data);
    if (last !== null) {
      if (now.incident > last.incident) {
        show(alertBox.getAttribute("data-new"));
        body.setAttribute("data-cue", String(now.incident));
        beep();
      }
      refresh();
    }
    last = now;
    body.setAttribute("data-live-ready", "1");
  });
  source.addEventListener("signedout", function () {
    source.close();
    window.location.reload();
  });
})();
