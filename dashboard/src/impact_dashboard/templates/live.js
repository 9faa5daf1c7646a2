// Follows one run over server-sent events: the server pushes the rendered sections
// whenever the run moves; no polling, no reload. Ends on the final report.
(function () {
  const root = document.getElementById("run");
  if (!root || document.body.dataset.live === "ended") return;
  const source = new EventSource(root.dataset.events);
  source.addEventListener("view", (event) => { root.innerHTML = event.data; });
  source.addEventListener("end", () => {
    source.close();
    document.body.dataset.live = "ended";
  });
})();
