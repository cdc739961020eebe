// The setup page. No framework, no build step. The setup link's credential arrives in the URL
// fragment (never sent to a server, RFC 3986 §3.5); it is exchanged once for a short-lived
// session, kept only in this variable (no cookie, no storage), and removed from the address bar.
"use strict";

const API = "/admin/s/v1";
let session = null;
let tenant = null;
let olderCursor = null;

const $ = (id) => document.getElementById(id);

function say(text, isError) {
  const s = $("status");
  s.textContent = text || "";
  s.className = isError ? "error" : "";
}

async function call(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (session) headers["Authorization"] = "Bearer " + session;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
    referrerPolicy: "no-referrer",
  });
  let data = null;
  try { data = await resp.json(); } catch (_) { data = null; }
  if (resp.status === 401) {
    showExpired((data && data.detail) || "This setup link is no longer valid.");
    throw new Error("unauthorized");
  }
  if (!resp.ok) {
    const detail = (data && data.detail) || ("The request failed (" + resp.status + ").");
    say(detail, true);
    throw new Error(detail);
  }
  return data;
}

function showExpired(detail) {
  session = null;
  $("app").hidden = true;
  $("expired").hidden = false;
  $("expired-detail").textContent = detail;
  $("tenant-line").textContent = "";
  say("");
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  row.appendChild(td);
  return td;
}

function when(epochOrText) {
  if (epochOrText == null || epochOrText === "") return "";
  const d = typeof epochOrText === "number" ? new Date(epochOrText * 1000) : new Date(epochOrText);
  return isNaN(d) ? String(epochOrText) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

async function loadTokens() {
  const data = await call("GET", "/tenants/" + tenant + "/token");
  const body = $("tokens").tBodies[0];
  body.replaceChildren();
  if (data.tokens.length === 0) {
    const tr = body.insertRow();
    const td = cell(tr, "No token: generate one to connect your identity provider.");
    td.colSpan = 4;
  }
  for (const t of data.tokens) {
    const tr = body.insertRow();
    cell(tr, t.id);
    cell(tr, when(t.created));
    let status = t.live ? (t.role === "current" ? "active" : "previous, works until " + when(t.not_after)) : "expired";
    cell(tr, status);
    cell(tr, t.last_used ? when(t.last_used) + " by " + t.last_used_idp : "not in the last 24 hours");
  }
}

async function loadHealth() {
  const data = await call("GET", "/tenants/" + tenant + "/health");
  const table = $("health");
  const body = table.tBodies[0];
  body.replaceChildren();
  table.hidden = data.idps.length === 0;
  $("health-empty").hidden = data.idps.length !== 0;
  for (const h of data.idps) {
    const tr = body.insertRow();
    cell(tr, h.idp);
    cell(tr, when(h.last_request));
    cell(tr, h.requests_24h);
    cell(tr, h.errors_24h);
    const e = h.last_error;
    cell(tr, e ? when(e.at) + ": " + e.status + (e.scim_type ? " " + e.scim_type : "") + " " + e.detail : "none");
  }
}

async function loadChanges(more) {
  const q = "?count=20" + (more && olderCursor ? "&cursor=" + encodeURIComponent(olderCursor) : "");
  const data = await call("GET", "/tenants/" + tenant + "/changes" + q);
  const body = $("changes").tBodies[0];
  if (!more) body.replaceChildren();
  for (const c of data.changes) {
    const tr = body.insertRow();
    cell(tr, when(c.at));
    cell(tr, c.action.replace(/_/g, " ") + (c.changed.length ? " (" + c.changed.join(", ") + ")" : ""));
    cell(tr, c.resource_type + " " + c.resource_id);
    cell(tr, c.idp === "admin" ? c.token_id : c.idp + " (token " + c.token_id + ")");
  }
  olderCursor = data.next || null;
  $("older").hidden = !olderCursor;
}

async function refresh() {
  await Promise.all([loadTokens(), loadHealth(), loadChanges(false)]);
}

async function generate() {
  const overlap = Number($("overlap").value);
  const data = await call("POST", "/tenants/" + tenant + "/token", overlap > 0 ? { overlap_seconds: overlap } : {});
  $("new-token").value = data.token;
  $("new-token-box").hidden = false;
  $("previous-note").textContent = data.previous.length
    ? "The previous token keeps working until " + when(data.previous[0].until) + "."
    : (data.stopped ? "The previous token has stopped working." : "");
  $("new-token").focus();
  $("new-token").select();
  say("New token generated. Paste it into your identity provider.");
  await refresh();
}

function confirmRevoke(show) {
  $("revoke").hidden = show;
  $("revoke-confirm").hidden = !show;
  $("revoke-cancel").hidden = !show;
  (show ? $("revoke-confirm") : $("revoke")).focus();
}

async function revoke() {
  const data = await call("DELETE", "/tenants/" + tenant + "/token");
  confirmRevoke(false);
  $("new-token-box").hidden = true;
  $("new-token").value = "";
  say(data.revoked + " token(s) revoked. Provisioning stops until you generate a new token.");
  await refresh();
}

async function copy(id) {
  const input = $(id);
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    say("Copied.");
  } catch (_) {
    say("Press Ctrl+C (or Cmd+C) to copy the selected text.");
  }
}

function guard(fn) {
  return (ev) => { fn(ev).catch(() => {}); };
}

async function start() {
  const credential = decodeURIComponent(location.hash.replace(/^#/, ""));
  // Out of the address bar, the history and any screenshot.
  history.replaceState(null, "", location.pathname);
  if (!credential) {
    showExpired("Open this page from the setup link you were sent: the link carries the access.");
    return;
  }
  const s = await call("POST", "/session", { link: credential });
  session = s.session;
  tenant = s.tenant;
  const info = await call("GET", "/tenants/" + tenant);
  $("tenant-line").textContent = "Tenant " + info.tenant + " · this page's access ends " + when(s.expires);
  $("base-url").value = info.scim_base_url;
  for (const c of document.querySelectorAll("code.base-url")) c.textContent = info.scim_base_url;
  $("app").hidden = false;
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("generate").addEventListener("click", guard(generate));
  $("revoke").addEventListener("click", () => confirmRevoke(true));
  $("revoke-cancel").addEventListener("click", () => confirmRevoke(false));
  $("revoke-confirm").addEventListener("click", guard(revoke));
  $("refresh").addEventListener("click", guard(refresh));
  $("older").addEventListener("click", guard(() => loadChanges(true)));
  for (const b of document.querySelectorAll("button[data-copy]")) {
    b.addEventListener("click", guard(() => copy(b.dataset.copy)));
  }
  start().catch(() => {});
});
