// The import page: refuse a file over the limit before uploading it; follow a running import's progress,
// then reload for its summary and error file.
(function () {
  "use strict";

  // The server refuses such a file too, but only once it has received it all: say so before the upload.
  const form = document.getElementById("import-form");
  if (form) {
    const limit = Number(form.dataset.maxBytes);
    form.addEventListener("submit", function (event) {
      const file = form.querySelector("input[type=file]").files[0];
      if (!file || !limit || file.size <= limit) return;
      event.preventDefault();
      let problem = document.getElementById("import-problem");
      if (!problem) {
        problem = document.createElement("p");
        problem.className = "error";
        problem.id = "import-problem";
        problem.setAttribute("role", "alert");
        form.parentNode.insertBefore(problem, form);
      }
      problem.textContent = form.dataset.tooBig;
    });
  }

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
