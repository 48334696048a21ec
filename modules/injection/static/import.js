// The import page: follow a running import's progress, then reload for its summary and error file.
(function () {
  "use strict";
  const box = document.getElementById("import-job");
  if (!box || box.dataset.status !== "running") return;
  const bar = document.getElementById("job-progress");
  const format = new Intl.NumberFormat(document.documentElement.lang || "vi");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, {headers: {"Accept": "application/json"}});
      if (response.ok) {
        const job = await response.json();
        if (job.rows_total) bar.max = job.rows_total;
        bar.value = job.rows_read;
        box.querySelectorAll("[data-count]").forEach(function (cell) {
          cell.textContent = format.format(job[cell.dataset.count]);
        });
        if (job.status !== "running") { window.location.reload(); return; }
      }
    } catch (error) { /* the next poll retries */ }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
