// The dashboards' sign-in: POST /dashboard/session sets the key as an HttpOnly cookie; then back to where the browser was.
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  // Only a path of this origin: "//elsewhere" or "/\elsewhere" would leave it.
  const back = (() => {
    const r = new URLSearchParams(location.search).get("return") || "/";
    return r.startsWith("/") && !r.startsWith("//") && !r.startsWith("/\\") ? r : "/";
  })();
  $("sign-in-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    $("sign-in-error").textContent = "";
    const answer = await fetch("/dashboard/session", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: $("key-input").value.trim() }) });
    if (answer.ok) { location.replace(back); return; }
    const json = await answer.json().catch(() => ({}));
    $("sign-in-error").textContent = "Not signed in: " + (json.error ? json.error.message : `HTTP ${answer.status}`);
    $("key-input").focus();
  });
  $("sign-out-button").addEventListener("click", async () => {
    const answer = await fetch("/dashboard/session", { method: "DELETE" });
    $("sign-out-status").textContent = answer.ok ? "Signed out." : `Sign-out failed: HTTP ${answer.status}`;
  });
  $("key-input").focus();
})();
