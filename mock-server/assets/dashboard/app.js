// procore-mock dashboard. Everything it shows or changes goes through the public /__admin API.
"use strict";

const $ = (selector) => document.querySelector(selector);

/** An element with attributes and children (strings become text: nothing is parsed as HTML). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Calls the admin API; a non-2xx answer throws with the mock's message. */
async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((data && data.message) || `${method} ${path}: ${response.status}`);
  return data;
}

// The error bar. A message stays until the user dismisses it or a later action of theirs
// succeeds: the background refreshes (every second) never clear it, or nobody could read it.
// `refreshFailures` holds, per refresh, the message of its current failure, shown once: a
// refresh failing the same way every second neither redraws the bar nor brings it back after
// a dismissal.
const refreshFailures = new Map();

const messageOf = (error) => String(error.message || error);

function showError(message) {
  const text = message || "";
  // Rewriting the message already shown would only redraw it.
  if ($("#error-text").textContent !== text) $("#error-text").textContent = text;
  $("#error").hidden = !message;
}

$("#error-dismiss").addEventListener("click", () => showError(null));

/** Runs what the user asked for: its failure shows in the error bar, its success clears it. */
async function attempt(action) {
  try {
    await action();
    showError(null);
  } catch (error) {
    showError(messageOf(error));
  }
}

/** Runs a background refresh: a new failure shows once; a success leaves the error bar alone. */
async function refreshQuietly(load) {
  try {
    await load();
    refreshFailures.delete(load);
  } catch (error) {
    const message = messageOf(error);
    if (refreshFailures.get(load) === message) return;
    refreshFailures.set(load, message);
    showError(message);
  }
}

const epochText = (seconds) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
const statusClass = (status) => `status s${String(status)[0]}`;

/** A JSON text pretty-printed when it parses, as is otherwise. */
function pretty(text) {
  if (text === null || text === undefined || text === "") return "(empty)";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------- views and navigation

const views = ["requests", "directory", "limits", "control"];
let current = null;

function route() {
  const name = views.includes(location.hash.slice(1)) ? location.hash.slice(1) : "requests";
  current = name;
  for (const view of views) {
    $(`#view-${view}`).hidden = view !== name;
    $(`#nav-${view}`).classList.toggle("active", view === name);
  }
  refresh();
}

/** Reloads what the visible view shows (opening a view is no action that answers an error). */
function refresh() {
  const loaders = { requests: pollRequests, directory: loadDirectory, limits: loadApps, control: loadControl };
  refreshQuietly(loaders[current]);
}

// ---------------------------------------------------------------- clock (header badge)

async function loadClock() {
  const clock = await api("GET", "/__admin/clock");
  $("#clock-badge").textContent = `${clock.now}${clock.frozen ? " (frozen)" : ""}`;
  return clock;
}

// ---------------------------------------------------------------- requests

// `generation` changes whenever the list starts over, so a poll that was in flight then
// (asked with the old filters) is dropped rather than mixed in.
const requests = { entries: [], lastId: 0, selected: null, filters: {}, generation: 0 };

function filterQuery(extra) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...requests.filters, ...extra })) {
    if (value !== "" && value !== undefined) params.set(name, value);
  }
  return params.toString();
}

/** Fetches the entries after the newest one shown (all of the last 200 after a filter change). */
async function pollRequests() {
  const since = requests.lastId ? { since: requests.lastId + 1 } : { limit: 200 };
  const generation = requests.generation;
  const answered = await api("GET", `/__admin/requests?${filterQuery(since)}`);
  if (generation !== requests.generation) return;
  // Two polls may overlap (the timer and a filter change): keep only what is new.
  const fresh = answered.filter((entry) => entry.id > requests.lastId);
  if (fresh.length) {
    requests.entries = requests.entries.concat(fresh).slice(-500);
    requests.lastId = fresh[fresh.length - 1].id;
    renderRequests();
  } else if (!requests.entries.length) {
    renderRequests();
  }
  $("#requests-live").textContent = `live · ${requests.entries.length} shown`;
}

function resetRequests() {
  requests.generation += 1;
  requests.entries = [];
  requests.lastId = 0;
  requests.selected = null;
  renderDetail();
}

function renderRequests() {
  const rows = requests.entries
    .slice()
    .reverse()
    .map((entry) =>
      el("tr", { "data-id": entry.id, class: entry.id === requests.selected ? "selected" : null, onclick: () => selectRequest(entry.id) },
        el("td", {}, entry.id),
        el("td", {}, entry.time.slice(11, 23)),
        el("td", {}, entry.method),
        el("td", { class: "path" }, entry.path + (entry.query ? `?${entry.query}` : "")),
        el("td", { class: statusClass(entry.status) }, entry.status),
        el("td", {}, entry.client_id || "—"),
        el("td", {}, entry.duration_ms.toFixed(1))));
  const body = $("#requests-body");
  body.replaceChildren(...rows);
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No requests recorded yet.")));
}

function selectRequest(id) {
  requests.selected = id;
  renderRequests();
  renderDetail();
}

function headerList(headers) {
  const names = Object.keys(headers || {});
  if (!names.length) return el("p", { class: "muted" }, "(none)");
  return el("dl", { class: "kv" }, names.flatMap((name) => {
    const rate = name.startsWith("x-rate-limit") || name === "retry-after";
    return [el("dt", {}, name), el("dd", { class: rate ? "rate" : null }, headers[name])];
  }));
}

function renderDetail() {
  const entry = requests.entries.find((e) => e.id === requests.selected);
  const detail = $("#detail");
  if (!entry) {
    detail.replaceChildren(el("p", { class: "muted" }, "Select a request to see what was sent and answered."));
    return;
  }
  const truncated = (flag) => (flag ? el("p", { class: "muted" }, "Cut at the journal's body limit.") : "");
  detail.replaceChildren(
    el("h2", {}, `${entry.method} ${entry.path}${entry.query ? `?${entry.query}` : ""}`),
    el("dl", { class: "kv" },
      el("dt", {}, "Journal id"), el("dd", {}, entry.id),
      el("dt", {}, "Arrived (mock)"), el("dd", {}, entry.time),
      el("dt", {}, "Client"), el("dd", {}, entry.client_id || "— (no valid token)"),
      el("dt", {}, "Status"), el("dd", { class: statusClass(entry.status) }, entry.status),
      el("dt", {}, "Took"), el("dd", {}, `${entry.duration_ms.toFixed(2)} ms`),
      el("dt", {}, "Fault rule"), el("dd", {}, entry.fault_rule_id ? `#${entry.fault_rule_id} fired` : "none")),
    el("h3", {}, "Request headers"), headerList(entry.request_headers),
    el("h3", {}, "Request body"), el("pre", { id: "detail-request-body" }, pretty(entry.body)), truncated(entry.body_truncated),
    el("h3", {}, "Response headers"), headerList(entry.response_headers),
    el("h3", {}, "Response body"), el("pre", { id: "detail-response-body" }, pretty(entry.response_body)), truncated(entry.response_body_truncated));
}

$("#filters").addEventListener("submit", (event) => {
  event.preventDefault();
  requests.filters = {
    method: $("#filter-method").value,
    path: $("#filter-path").value.trim(),
    status: $("#filter-status").value.trim(),
    client_id: $("#filter-client").value.trim(),
  };
  resetRequests();
  attempt(pollRequests);
});

$("#filter-clear").addEventListener("click", () => {
  $("#filters").reset();
  requests.filters = {};
  resetRequests();
  attempt(pollRequests);
});

// ---------------------------------------------------------------- directory

const directory = { companies: [], company: null, page: { kind: "users" }, search: "" };

async function loadDirectory() {
  directory.companies = (await api("GET", "/__admin/directory")).companies;
  if (!directory.companies.some((c) => c.id === directory.company)) {
    directory.company = directory.companies.length ? directory.companies[0].id : null;
    directory.page = { kind: "users" };
  }
  renderDirectory();
}

function openPage(page) {
  directory.page = page;
  renderDirectory();
}

function renderDirectory() {
  $("#companies").replaceChildren(...directory.companies.map((company) =>
    el("a", { class: company.id === directory.company ? "active" : null, "data-company": company.id,
              onclick: () => { directory.company = company.id; openPage({ kind: "users" }); } },
      `${company.name} (${company.id})`)));
  const company = directory.companies.find((c) => c.id === directory.company);
  const main = $("#directory-main");
  if (!company) {
    main.replaceChildren(el("p", { class: "muted" }, "No companies."));
    return;
  }
  const tabs = el("div", { class: "toolbar" },
    el("button", { id: "dir-users", onclick: () => openPage({ kind: "users" }) }, `Users (${company.users.length})`),
    el("button", { id: "dir-projects", onclick: () => openPage({ kind: "projects" }) }, `Projects (${company.projects.length})`));
  const pages = { users: usersPage, projects: projectsPage, user: userPage, project: projectPage };
  main.replaceChildren(el("h2", {}, company.name), tabs, pages[directory.page.kind](company, directory.page.id));
}

const activeBadge = (active) => el("span", { class: active ? "badge ok" : "badge off" }, active ? "active" : "inactive");
const userLink = (id, text) => el("a", { class: "link", "data-user": id, onclick: () => openPage({ kind: "user", id }) }, text);
const projectLink = (id, text) => el("a", { class: "link", "data-project": id, onclick: () => openPage({ kind: "project", id }) }, text);

function usersPage(company) {
  const search = el("input", { id: "user-search", placeholder: "Search name, email or id", value: directory.search, size: 32 });
  const apply = () => {
    // Redrawing needlessly (a `change` on blur) would swap out the row a click is landing on.
    if (search.value === directory.search) return;
    directory.search = search.value;
    $("#users-table").replaceWith(usersTable(company));
  };
  // `input` as the user types; `change` too, for a field emptied without typing.
  search.addEventListener("input", apply);
  search.addEventListener("change", apply);
  return el("div", {}, el("div", { class: "toolbar" }, search), usersTable(company));
}

function usersTable(company) {
  const wanted = directory.search.toLowerCase();
  const users = company.users.filter((user) =>
    !wanted || `${user.name} ${user.email_address} ${user.id}`.toLowerCase().includes(wanted));
  return el("table", { class: "list", id: "users-table" },
    el("thead", {}, el("tr", {}, ["Id", "Name", "Email", "Job title", "Vendor", "Projects", "Status"].map((h) => el("th", {}, h)))),
    el("tbody", {}, users.map((user) =>
      el("tr", { "data-user-row": user.id },
        el("td", {}, user.id),
        el("td", {}, userLink(user.id, user.name)),
        el("td", {}, user.email_address),
        el("td", {}, user.job_title || ""),
        el("td", {}, user.vendor ? user.vendor.name || user.vendor.id : ""),
        el("td", {}, user.project_ids.length),
        el("td", {}, activeBadge(user.is_active))))));
}

function projectsPage(company) {
  return el("table", { class: "list" },
    el("thead", {}, el("tr", {}, ["Id", "Project", "Members", "Status"].map((h) => el("th", {}, h)))),
    el("tbody", {}, company.projects.map((project) =>
      el("tr", {},
        el("td", {}, project.id),
        el("td", {}, projectLink(project.id, project.display_name)),
        el("td", {}, project.members.length),
        el("td", {}, activeBadge(project.active))))));
}

function projectPage(company, id) {
  const project = company.projects.find((p) => p.id === id);
  if (!project) return el("p", { class: "muted" }, `Project ${id} is gone.`);
  return el("div", { id: "project-page" },
    el("h3", {}, `${project.display_name} (${project.id}) — members`),
    el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["User", "Email", "Permission template", "On project"].map((h) => el("th", {}, h)))),
      el("tbody", {}, project.members.map((member) =>
        el("tr", { "data-member": member.user_id },
          el("td", {}, userLink(member.user_id, member.name || member.user_id)),
          el("td", {}, member.email_address || ""),
          el("td", {}, member.permission_template ? `${member.permission_template.name} (${member.permission_template.id})` : "none"),
          el("td", {}, activeBadge(member.is_active)))))));
}

function userPage(company, id) {
  const user = company.users.find((u) => u.id === id);
  if (!user) return el("p", { class: "muted" }, `User ${id} is gone.`);
  const projects = company.projects.filter((p) => user.project_ids.includes(p.id));
  return el("div", { id: "user-page" },
    el("h3", {}, `${user.name} (${user.id})`),
    el("dl", { class: "kv" },
      el("dt", {}, "Email"), el("dd", {}, user.email_address),
      el("dt", {}, "Job title"), el("dd", {}, user.job_title || ""),
      el("dt", {}, "Employee"), el("dd", {}, user.is_employee ? "yes" : "no"),
      el("dt", {}, "Vendor"), el("dd", {}, user.vendor ? `${user.vendor.name} (${user.vendor.id})` : ""),
      el("dt", {}, "Status"), el("dd", {}, activeBadge(user.is_active))),
    el("h3", {}, "Projects"),
    projects.length
      ? el("table", { class: "list" },
          el("thead", {}, el("tr", {}, ["Project", "Permission template", "On project"].map((h) => el("th", {}, h)))),
          el("tbody", {}, projects.map((project) => {
            const member = project.members.find((m) => m.user_id === user.id);
            return el("tr", { "data-user-project": project.id },
              el("td", {}, projectLink(project.id, project.display_name)),
              el("td", {}, member.permission_template ? member.permission_template.name : "none"),
              el("td", {}, activeBadge(member.is_active)));
          })))
      : el("p", { class: "muted" }, "On no project."));
}

// ---------------------------------------------------------------- rate limits

async function loadApps() {
  const { now, apps } = await api("GET", "/__admin/apps");
  await loadClock();
  $("#apps").replaceChildren(...apps.map((app) => el("div", { class: "card", "data-app": app.client_id },
    el("h2", {}, `${app.name} · ${app.client_id}`),
    el("p", { class: "muted" }, `Scopes: ${app.scopes.join(", ")}`),
    app.rate_limits.length
      ? el("table", { class: "list" },
          el("thead", {}, el("tr", {}, ["Window", "Used / limit", "", "Remaining", "Reset (mock clock)"].map((h) => el("th", {}, h)))),
          el("tbody", {}, app.rate_limits.map((w) => el("tr", { "data-window": w.window },
            el("td", {}, `${w.window} (${w.length_seconds} s)`),
            el("td", {}, `${w.used} / ${w.limit}`),
            el("td", {}, el("div", { class: "meter" }, el("span", { class: w.remaining === 0 ? "hot" : null, style: `width: ${Math.min(100, (100 * w.used) / w.limit)}%` }))),
            el("td", {}, w.remaining),
            el("td", {}, `${epochText(w.reset)} (in ${Math.max(0, w.reset - now)} s)`)))))
      : el("p", { class: "muted" }, "Rate limits are off."),
    el("h3", {}, "Access tokens"),
    app.access_tokens.length
      ? el("table", { class: "list" },
          el("thead", {}, el("tr", {}, ["Acts as user", "Issued", "Expires", "State"].map((h) => el("th", {}, h)))),
          el("tbody", {}, app.access_tokens.map((t) => el("tr", { "data-token": t.live ? "live" : "expired" },
            el("td", {}, t.resource_owner_id),
            el("td", {}, epochText(t.created_at)),
            el("td", {}, t.live ? `${epochText(t.expires_at)} (in ${t.expires_at - now} s)` : epochText(t.expires_at)),
            el("td", {}, el("span", { class: t.live ? "badge ok" : "badge off" }, t.live ? "live" : "expired"))))))
      : el("p", { class: "muted" }, "No tokens issued."))));
}

// ---------------------------------------------------------------- control

async function loadControl() {
  const clock = await loadClock();
  $("#clock-now").textContent = clock.now;
  $("#clock-state").textContent = clock.frozen ? "frozen" : "running";
  $("#clock-freeze").textContent = clock.frozen ? "Let it run" : "Freeze";
  $("#clock-freeze").dataset.frozen = clock.frozen;
  const faults = await api("GET", "/__admin/faults");
  const rows = faults.map((rule) => el("tr", { "data-fault": rule.id },
    el("td", {}, rule.id),
    el("td", {}, rule.method || "any"),
    el("td", { class: "path" }, rule.path),
    el("td", {}, rule.status || ""),
    el("td", {}, rule.latency_ms ? `${rule.latency_ms} ms` : ""),
    el("td", {}, rule.hits),
    el("td", {}, rule.hits_left === null ? "∞" : rule.hits_left),
    el("td", {}, el("button", { onclick: () => attempt(async () => { await api("DELETE", `/__admin/faults/${rule.id}`); await loadControl(); }) }, "Remove"))));
  $("#faults-body").replaceChildren(...rows);
  if (!rows.length) $("#faults-body").append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No fault rules.")));
  await loadWebhooks();
}

// ---------------------------------------------------------------- control: webhooks

/** How many attempts the Webhooks card lists (the mock keeps more; the API has them all). */
const SHOWN_ATTEMPTS = 50;
// Each load takes a ticket; an answer older than one already drawn is dropped, so a slow
// poll never paints over what a flush just showed.
const webhooks = { issued: 0, drawn: 0 };

const eventText = (event) => `${event.resource_name} ${event.event_type}`;
const outcomeBadge = (outcome) => el("span", { class: outcome === "ok" ? "badge ok" : "badge off" }, outcome);

/** Waiting events and logged attempts across hooks, from `/__admin/webhooks/deliveries`. */
async function loadWebhooks() {
  const ticket = ++webhooks.issued;
  const [overview, deliveries] = await Promise.all([
    api("GET", "/__admin/webhooks"),
    api("GET", "/__admin/webhooks/deliveries"),
  ]);
  if (ticket < webhooks.drawn) return;
  webhooks.drawn = ticket;
  const hooks = overview.companies.reduce((n, c) => n + c.hooks.length, 0);
  const dropped = overview.companies.reduce((n, c) => n + c.dropped_total, 0);
  // Attempt ids count per company, so the newest are found by completion time on the mock clock.
  const attempts = deliveries.past.slice().sort((a, b) =>
    a.completed_at < b.completed_at ? -1 : a.completed_at > b.completed_at ? 1 : a.id - b.id);
  const failing = attempts.filter((d) => d.outcome !== "ok");
  $("#webhooks-summary").textContent = `${hooks} hook${hooks === 1 ? "" : "s"} · ${deliveries.pending.length} waiting · `
    + `${overview.in_flight} in flight · ${failing.length} failed of ${attempts.length} attempts · ${dropped} dropped (queue full)`;

  const pending = deliveries.pending.map((waiting) => el("tr", {},
    el("td", {}, waiting.hook_id),
    el("td", { class: "path" }, waiting.destination_url),
    el("td", {}, eventText(waiting.event)),
    el("td", {}, waiting.event.resource_id),
    el("td", {}, waiting.held ? `${waiting.due_at} (held by a delivery fault rule)` : waiting.due_at)));
  $("#webhooks-pending").replaceChildren(...pending);
  if (!pending.length) $("#webhooks-pending").append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "Nothing waiting.")));

  const listed = $("#webhooks-failing-only").checked ? failing : attempts;
  const past = listed.slice(-SHOWN_ATTEMPTS).reverse().map((delivery) => el("tr", {},
    el("td", {}, delivery.id),
    el("td", {}, delivery.hook_id),
    el("td", {}, eventText(delivery.event)),
    el("td", {}, delivery.event.resource_id),
    el("td", {}, delivery.completed_at),
    el("td", { class: delivery.response_status ? statusClass(delivery.response_status) : "status s5" },
      delivery.response_status || delivery.response_error || "not sent"),
    el("td", {}, outcomeBadge(delivery.outcome))));
  $("#webhooks-past").replaceChildren(...past);
  if (!past.length) $("#webhooks-past").append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No attempts logged.")));
}

$("#webhooks-failing-only").addEventListener("change", () => attempt(loadWebhooks));

$("#webhooks-flush").addEventListener("click", () => attempt(async () => {
  const button = $("#webhooks-flush");
  button.disabled = true;
  $("#webhooks-flushed").textContent = "flushing…";
  try {
    const report = await api("POST", "/__admin/webhooks/flush");
    $("#webhooks-flushed").textContent = report.pending
      ? `Flushed: ${report.pending} still waiting, next due ${report.next_due_at} (mock clock)`
      : "Flushed: nothing left waiting";
  } finally {
    button.disabled = false;
  }
  await loadWebhooks();
}));

$("#clock-freeze").addEventListener("click", () => attempt(async () => {
  await api("PUT", "/__admin/clock", { frozen: $("#clock-freeze").dataset.frozen !== "true" });
  await loadControl();
}));

$("#clock-advance").addEventListener("submit", (event) => {
  event.preventDefault();
  attempt(async () => {
    await api("POST", "/__admin/clock/advance", { seconds: Number($("#advance-seconds").value) });
    await loadControl();
  });
});

$("#reset").addEventListener("click", () => attempt(async () => {
  const answer = await api("POST", "/__admin/reset");
  $("#reset-done").textContent = answer.message;
  resetRequests();
  await loadControl();
}));

$("#fault-add").addEventListener("submit", (event) => {
  event.preventDefault();
  const number = (selector) => ($(selector).value.trim() === "" ? undefined : Number($(selector).value));
  const rule = {
    method: $("#fault-method").value || undefined,
    path: $("#fault-path").value.trim(),
    status: number("#fault-status"),
    times: number("#fault-times"),
    latency_ms: number("#fault-latency"),
  };
  attempt(async () => {
    await api("POST", "/__admin/faults", rule);
    $("#fault-add").reset();
    await loadControl();
  });
});

// ---------------------------------------------------------------- start

window.addEventListener("hashchange", route);
route();
// Live: the visible view polls the admin API. The Control view refreshes its forms on each
// action only, so a half-typed form is never redrawn under the user; its webhook tables, which
// the delivery worker changes in the background, are polled.
setInterval(() => {
  if (current === "requests") refreshQuietly(pollRequests);
  if (current === "limits") refreshQuietly(loadApps);
  if (current === "control") refreshQuietly(loadWebhooks);
  refreshQuietly(loadClock);
}, 1000);
