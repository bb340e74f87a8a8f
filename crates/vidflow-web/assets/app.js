// vidflow's page script: plain JavaScript, no framework, no build step.
// The API key lives in sessionStorage (this tab only) and goes in the Authorization
// header. <video>, <track>, <img> and EventSource cannot send headers, so logging in also
// sets an HttpOnly session cookie that the server accepts for GET and HEAD only.
"use strict";

const KEY = "vidflow-key";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const body = document.body;

class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code;
    this.fields = (error && error.fields) || [];
  }
}

async function api(path, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  let init = Object.assign({}, options, { headers });
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
    delete init.json;
  }
  const resp = await fetch(path, init);
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!resp.ok) {
    if (resp.status === 401) showLogin();
    throw new ApiError(resp.status, data && data.error);
  }
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

function pageError(message) {
  const p = $("#page-error");
  p.textContent = message || "";
  p.hidden = !message;
}

function seconds(s) {
  if (s === null || s === undefined) return "—";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 90) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

// ---- login ---------------------------------------------------------------------------

function showLogin() {
  $("#login").hidden = false;
  $("#login-key").focus();
}

function sessionState() {
  const on = !!sessionStorage.getItem(KEY);
  $("#session-state").textContent = on ? "Logged in" : "";
  $("#logout").hidden = !on;
}

async function login(event) {
  event.preventDefault();
  const key = $("#login-key").value.trim();
  const error = $("#login-error");
  error.hidden = true;
  const resp = await fetch("/v1/session", {
    method: "POST",
    headers: { Authorization: `Bearer ${key}` },
  });
  if (!resp.ok) {
    error.textContent = resp.status === 401 ? "That key is not accepted." : `The server answered ${resp.status}.`;
    error.hidden = false;
    $("#login-key").setAttribute("aria-invalid", "true");
    return;
  }
  sessionStorage.setItem(KEY, key);
  $("#login-key").value = "";
  $("#login").hidden = true;
  sessionState();
  start();
}

async function logout() {
  try { await api("/v1/session", { method: "DELETE" }); } catch (_) { /* gone already */ }
  sessionStorage.removeItem(KEY);
  location.reload();
}

// ---- new video -----------------------------------------------------------------------

function showSource() {
  const source = $("input[name=source]:checked").value;
  for (const div of $$("[data-source]")) div.hidden = div.dataset.source !== source;
}

function clearErrors(form) {
  for (const p of $$(".field-error", form)) { p.hidden = true; p.textContent = ""; }
  for (const i of $$("[aria-invalid]", form)) i.removeAttribute("aria-invalid");
  $("#form-error").hidden = true;
}

function showFieldErrors(form, error) {
  let placed = 0;
  for (const f of error.fields) {
    const p = $(`[data-error-for="${CSS.escape(f.field)}"]`, form);
    const input = $(`[data-field="${CSS.escape(f.field)}"]`, form);
    if (!p) continue;
    p.textContent = f.message;
    p.hidden = false;
    if (input) input.setAttribute("aria-invalid", "true");
    if (placed === 0 && input) input.focus();
    placed += 1;
  }
  if (placed < error.fields.length || error.fields.length === 0) {
    const other = error.fields.filter((f) => !$(`[data-error-for="${CSS.escape(f.field)}"]`, form));
    $("#form-error").textContent = error.message + other.map((f) => ` ${f.field}: ${f.message}`).join(";");
    $("#form-error").hidden = false;
  }
}

function videoRequest(form) {
  const source = $("input[name=source]:checked", form).value;
  const req = { options: {} };
  req[source] = $(`#${source}`, form).value;
  const avatar = $("input[name=avatar]:checked", form);
  if (avatar) req.avatar = avatar.value;
  req.options.size = $("#size").value;
  req.options.fps = Number($("#fps").value);
  if ($("#voice").value) req.options.voice = $("#voice").value;
  const max = $("#max-seconds").value;
  if (max !== "") req.options.max_seconds = Number(max);
  req.options.subtitles = $("#subtitles").checked;
  return req;
}

async function submitVideo(event) {
  event.preventDefault();
  const form = event.target;
  clearErrors(form);
  const button = $("#submit");
  button.disabled = true;
  try {
    const accepted = await api("/v1/videos", { method: "POST", json: videoRequest(form) });
    location.assign(`/ui/jobs/${encodeURIComponent(accepted.job_id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status !== 401) showFieldErrors(form, e);
    else if (!(e instanceof ApiError)) pageError(String(e));
  } finally {
    button.disabled = false;
  }
}

function initNew() {
  for (const r of $$("input[name=source]")) r.addEventListener("change", showSource);
  showSource();
  $("#html-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (file) $("#html").value = await file.text();
  });
  $("#video-form").addEventListener("submit", submitVideo);
  // A player for the chosen voice's sample (`sample_url` in /v1/voices), when it has one.
  api("/v1/voices").then((voices) => {
    const hook = $("#voice-sample");
    const withSample = voices.filter((v) => v.sample_url);
    if (withSample.length === 0) return;
    const play = () => {
      const v = voices.find((x) => x.id === $("#voice").value);
      hook.replaceChildren(v && v.sample_url ? el("audio", { controls: true, src: v.sample_url, "aria-label": "Voice sample" }) : "");
    };
    $("#voice").addEventListener("change", play);
    play();
  }).catch(() => {});
}

// ---- a job ---------------------------------------------------------------------------

const job = { id: null, stages: [], started: {}, frames: null, source: null, finished: false };

function stageRow(name) {
  let row = $(`#stages tr[data-stage="${CSS.escape(name)}"]`);
  if (!row) {
    row = el("tr", { "data-stage": name }, el("th", { scope: "row", text: name }), el("td", { class: "st", text: "waiting" }), el("td", { class: "time", text: "—" }), el("td", { class: "cache", text: "—" }));
    $("#stages tbody").append(row);
  }
  return row;
}

function stageFinished(t) {
  const row = stageRow(t.stage);
  $(".st", row).textContent = "done";
  $(".time", row).textContent = seconds(t.seconds);
  $(".cache", row).textContent = t.cached ? `hit (${t.backend || "cache"})` : "made";
  row.dataset.cached = t.cached ? "yes" : "no";
}

function showJob(j) {
  $("#job-state").textContent = j.state + (j.stage && !["succeeded", "failed", "cancelled"].includes(j.state) ? ` — ${j.stage}` : "");
  body.dataset.state = j.state;
  for (const t of j.stages) stageFinished(t);
  if (j.state === "running" && j.stage) $(".st", stageRow(j.stage)).textContent = "running";
  const finished = ["succeeded", "failed", "cancelled"].includes(j.state);
  $("#cancel").hidden = finished;
  if (j.error) {
    $("#job-error").textContent = j.error.message;
    $("#job-error").hidden = false;
  }
  const hits = j.stages.filter((s) => s.cached).length;
  if (finished) {
    $("#eta").textContent = j.run_seconds !== null ? `none (took ${seconds(j.run_seconds)}; ${hits} of ${j.stages.length} stages from the cache)` : "none";
    $("#eta").dataset.hits = String(hits);
  }
  if (j.state === "succeeded" && j.links.video && !job.finished) showResult(j);
  if (finished) job.finished = true;
}

function progress(ev) {
  if (ev.stage !== "render" && ev.stage !== "encode") return;
  $("#frames-block").hidden = false;
  $("#frames-label").textContent = `${ev.stage === "render" ? "Frames drawn" : "Frames encoded"}`;
  const bar = $("#frames");
  bar.max = ev.total || 1;
  bar.value = ev.done;
  $("#frames-text").textContent = `${ev.done} of ${ev.total}`;
  const since = job.started[ev.stage];
  if (since && ev.done > 0) {
    const rate = ev.done / ((performance.now() - since) / 1000);
    $("#eta").textContent = `about ${seconds((ev.total - ev.done) / rate)} for ${ev.stage}`;
  }
}

function follow(id) {
  const events = new EventSource(`/v1/jobs/${encodeURIComponent(id)}/events`);
  const data = (e) => JSON.parse(e.data);
  events.addEventListener("state", (e) => showJob(data(e).job));
  events.addEventListener("stage_started", (e) => {
    const ev = data(e);
    job.started[ev.stage] = performance.now();
    $(".st", stageRow(ev.stage)).textContent = "running";
    $("#job-state").textContent = `running — ${ev.stage}`;
  });
  events.addEventListener("progress", (e) => progress(data(e)));
  events.addEventListener("stage_finished", (e) => stageFinished(data(e)));
  events.addEventListener("retrying", (e) => { $(".st", stageRow(data(e).stage)).textContent = "retrying"; });
  for (const last of ["done", "failed", "cancelled"]) {
    events.addEventListener(last, (e) => { events.close(); showJob(data(e).job); });
  }
  events.onerror = () => {
    // The stream ends when the job does; otherwise the browser reconnects by itself.
    if (job.finished) events.close();
  };
}

async function showResult(j) {
  const base = `/v1/jobs/${encodeURIComponent(j.id)}`;
  const video = $("#video");
  video.replaceChildren(el("track", { kind: "captions", src: `${base}/subtitles.vtt`, srclang: "en", label: "Captions", default: true }));
  video.src = `${base}/video`;
  $("#dl-mp4").href = `${base}/video`;
  $("#dl-mp4").setAttribute("download", `${j.id}.mp4`);
  $("#dl-srt").href = `${base}/subtitles.srt`;
  $("#dl-srt").setAttribute("download", `${j.id}.srt`);
  $("#dl-vtt").href = `${base}/subtitles.vtt`;
  $("#dl-vtt").setAttribute("download", `${j.id}.vtt`);
  $("#result").hidden = false;
  try {
    const source = await api(`${base}/source`);
    job.source = source;
    const script = $("#script-text");
    script.replaceChildren();
    for (const s of (source.script && source.script.segments) || []) script.append(el("li", { text: s.narration || s.text || JSON.stringify(s) }));
    const article = $("#article-text");
    article.replaceChildren();
    if (source.article) {
      if (source.article.title) article.append(el("h4", { text: source.article.title }));
      for (const p of source.article.paragraphs || []) article.append(el(p.is_heading ? "h5" : "p", { text: p.text }));
    } else {
      article.append(el("p", { text: "The video was made from a script: there is no page text." }));
    }
    const avatars = await api("/v1/avatars");
    const select = $("#again-avatar");
    select.replaceChildren(...avatars.filter((a) => a.id !== source.request.avatar).map((a) => el("option", { value: a.id, text: a.name })));
  } catch (e) {
    if (e instanceof ApiError && e.status !== 401) pageError(`The texts are not available: ${e.message}`);
  }
}

async function makeAgain(event) {
  event.preventDefault();
  if (!job.source) return;
  const req = JSON.parse(JSON.stringify(job.source.request));
  req.avatar = $("#again-avatar").value;
  delete req.idempotency_key;
  try {
    const accepted = await api("/v1/videos", { method: "POST", json: req });
    location.assign(`/ui/jobs/${encodeURIComponent(accepted.job_id)}`);
  } catch (e) {
    pageError(e.message);
  }
}

async function initJob() {
  const id = body.dataset.id;
  job.id = id;
  $("#cancel").addEventListener("click", async () => {
    $("#cancel").disabled = true;
    try { showJob(await api(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" })); } catch (e) { pageError(e.message); }
  });
  $("#again-form").addEventListener("submit", makeAgain);
  try {
    const j = await api(`/v1/jobs/${encodeURIComponent(id)}`);
    try {
      const flows = await api("/v1/workflows");
      const wf = flows.find((w) => w.id === j.workflow_id);
      if (wf) for (const s of wf.stages) stageRow(s);
    } catch (_) { /* the rows come with the events */ }
    showJob(j);
    if (!["succeeded", "failed", "cancelled"].includes(j.state)) follow(id);
  } catch (e) {
    if (e.status !== 401) pageError(e.message);
  }
}

// ---- jobs ----------------------------------------------------------------------------

const list = { cursors: [""], page: 0 };

// A job is named by its page's title once extraction has found one, else by its URL (or
// "html"/"script" for a pasted page or script); the URL stays in the cell's tooltip.
function titleOf(j) {
  return j.title || j.source || "—";
}

async function loadJobs() {
  const state = $("#state-filter").value;
  const params = new URLSearchParams({ limit: "20" });
  if (state) params.set("state", state);
  const cursor = list.cursors[list.page];
  if (cursor) params.set("cursor", cursor);
  const page = await api(`/v1/jobs?${params}`);
  const tbody = $("#jobs tbody");
  tbody.replaceChildren();
  for (const j of page.jobs) {
    const hits = j.stages.filter((s) => s.cached).length;
    const del = el("button", { type: "button", "data-delete": j.id, text: "Delete", "aria-label": `Delete job ${j.id.slice(0, 8)}` });
    del.addEventListener("click", async () => {
      del.disabled = true;
      try { await api(`/v1/jobs/${encodeURIComponent(j.id)}?purge=true`, { method: "DELETE" }); await loadJobs(); } catch (e) { pageError(e.message); del.disabled = false; }
    });
    tbody.append(el("tr", { "data-job": j.id },
      el("td", {}, el("a", { href: `/ui/jobs/${encodeURIComponent(j.id)}`, text: j.id.slice(0, 8) })),
      el("td", { class: `state ${j.state}`, text: j.state }),
      el("td", { class: "title", text: titleOf(j), title: j.source || "" }),
      el("td", { text: j.result && j.result.duration ? seconds(j.result.duration) : "—" }),
      el("td", { text: when(j.created_at) }),
      el("td", { text: seconds(j.run_seconds) }),
      el("td", { text: j.stages.length ? `${hits} of ${j.stages.length}` : "—" }),
      el("td", {}, del)));
  }
  $("#jobs-empty").hidden = page.jobs.length > 0;
  list.cursors[list.page + 1] = page.next_cursor;
  $("#next-page").disabled = !page.next_cursor;
  $("#first-page").disabled = list.page === 0;
}

function initJobs() {
  const reload = () => loadJobs().catch((e) => { if (e.status !== 401) pageError(e.message); });
  $("#state-filter").addEventListener("change", () => { list.cursors = [""]; list.page = 0; reload(); });
  $("#next-page").addEventListener("click", () => { list.page += 1; reload(); });
  $("#first-page").addEventListener("click", () => { list.page = 0; reload(); });
  reload();
}

// ---- studies -------------------------------------------------------------------------

async function initStudies() {
  try {
    const page = await api("/v1/jobs?limit=200");
    const studies = page.jobs.filter((j) => (j.workflow_id || "").startsWith("tune-"));
    const ul = $("#studies");
    for (const s of studies) {
      ul.append(el("li", {}, el("a", { href: `/ui/studies/${encodeURIComponent(s.id)}`, text: `${s.workflow_id} — ${s.state}` }), ` created ${when(s.created_at)}`));
    }
    $("#studies-empty").hidden = studies.length > 0;
  } catch (e) {
    if (e.status !== 401) pageError(e.message);
  }
}

async function initStudy() {
  const id = body.dataset.id;
  for (const img of $$("img[data-src]")) img.src = img.dataset.src;
  try {
    const j = await api(`/v1/jobs/${encodeURIComponent(id)}`);
    $("#study-state").textContent = j.state;
    const out = j.result && j.result.output;
    if (out) {
      const best = out.chosen || out.best;
      $("#best").textContent = best ? JSON.stringify(best.choice || best, null, 2) : "No trial reached the target.";
      if (out.kind === "encode" && out.chosen) {
        $("#profile-id").textContent = id;
        $("#use-profile").hidden = false;
      }
    }
  } catch (e) {
    if (e.status !== 401) pageError(e.message);
  }
}

// ---- status --------------------------------------------------------------------------

function fill(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) dl.append(el("dt", { text: k }), el("dd", { text: String(v) }));
}

async function initStatus() {
  try {
    const s = await api("/v1/status");
    fill($("#status-jobs"), [["queued", s.jobs.queued], ["running", s.jobs.running], ["pool", s.jobs.max_concurrent], ["queue size", s.jobs.max_queued]]);
    const tiers = s.cache.backends.map((b) => [`${b.backend} hits / misses`, `${b.hits} / ${b.misses}`]);
    fill($("#status-cache"), [["hit rate", s.cache.hit_rate === null ? "—" : `${(s.cache.hit_rate * 100).toFixed(1)} %`], ...tiers]);
    const q = s.shared_queue;
    fill($("#status-workers"), q ? [["live workers", q.workers.length], ...q.workers.map((w) => [w.name || w.id || "worker", w.state || "live"])] : [["mode", "single process (no shared queue)"]]);
    fill($("#status-server"), [["version", s.version], ["up for", seconds(s.uptime_seconds)], ["free disk", s.disk.free_bytes === null ? "—" : `${(s.disk.free_bytes / 2 ** 30).toFixed(1)} GiB`]]);
  } catch (e) {
    if (e.status !== 401) pageError(e.message);
  }
}

// ---- start ---------------------------------------------------------------------------

const pages = { new: initNew, job: initJob, jobs: initJobs, studies: initStudies, study: initStudy, status: initStatus };

function start() {
  for (const img of $$("img[data-src]")) if (!img.src) img.src = img.dataset.src;
  const init = pages[body.dataset.page];
  if (init) init();
  body.dataset.ready = "yes";
}

$("#login-form").addEventListener("submit", login);
$("#logout").addEventListener("click", logout);
sessionState();
if (body.dataset.auth === "on" && !sessionStorage.getItem(KEY)) showLogin();
else start();
