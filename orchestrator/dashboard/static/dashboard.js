// The dashboard page: polls /dashboard/state every second and redraws; buttons POST to
// /dashboard/controls/{name} and show the answer (or the reason for a refusal) in the header.
// Both need the session cookie a login sets (HttpOnly: this script never sees it, the browser
// sends it); a 401 shows the login form and stops polling until the login succeeds.
"use strict";

const POLL_MS = 1000;
const NA = '<span class="na">n/a</span>';
const groupViews = new Map();

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return NA;
  return Number(value).toFixed(digits);
}

function figure(label, valueHtml, extraClass = "", title = "") {
  const hint = title ? ` title="${escapeHtml(title)}"` : "";
  return `<div class="figure ${extraClass}"${hint}><div class="value">${valueHtml}</div><div class="label">${escapeHtml(label)}</div></div>`;
}

function unavailable(source) {
  return source && source.error ? `<p class="note">n/a: ${escapeHtml(source.error)}</p>` : "";
}

function badge(text, kind) {
  return `<span class="badge ${kind}">${escapeHtml(text)}</span>`;
}

function stateClass(state) {
  return "state-" + String(state).replace(/[^a-z]+/gi, "-").toLowerCase();
}

function say(message, isError = false) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.className = isError ? "status error" : "status";
}

function describeAnswer(name, answer) {
  switch (name) {
    case "poison": return `poison order ${answer.order_id} sent to ${answer.queue}: watch it reach ${answer.dead_letter_queue}`;
    case "desired-capacity": return `desired capacity of ${answer.group} set to ${answer.desired_capacity}`;
    case "protect": return `${answer.instance_id} ${answer.protected ? "protected from" : "no longer protected from"} scale-in`;
    case "kill": return `${answer.instance_id} killed (SIGKILL): the group replaces it`;
    case "reclaim-spot-capacity": return `Spot pool ${answer.instance_type} in ${answer.availability_zone} reclaimed: its instances get two minutes' notice`;
    case "pause": return `${answer.instance_id} ${answer.paused ? "paused" : "resumed"}`;
    case "restart-broker": return `broker ${answer.service} (${answer.container}) restarted`;
    case "subscriber": return `subscriber ${answer.subscriber} (${answer.container}) ${answer.running ? "started: watch whether it catches up" : "stopped: events published now are kept only for a durable subscription"}`;
    case "deploy": return answer.change === "failing-health-check"
      ? `${answer.service}: deploying ${answer.task_definition}, whose health check fails: watch the circuit breaker roll it back`
      : `${answer.service}: deploying ${answer.task_definition} (${answer.container}'s environment changed): watch the rolling deployment`;
    case "traffic": return `traffic: ${answer.traffic.pattern} at ${answer.traffic.rate} orders/s (peak ${answer.traffic.peak_rate})`;
    default: return `${name}: done`;
  }
}

// Every change is a same-origin JSON POST (or DELETE) with the session cookie: the server
// refuses any other kind, which is what keeps other web pages from pressing these buttons.
function send(path, method, body) {
  return fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
}

function loggedOut() {
  return !document.getElementById("login").hidden;
}

function showLogin(reason) {
  document.getElementById("login").hidden = false;
  document.getElementById("account").hidden = true;
  document.body.dataset.session = "out";
  say(reason, true);
  document.getElementById("login").elements.access_key_id.focus();
}

function showAccount(accessKeyId) {
  document.getElementById("login").hidden = true;
  document.getElementById("who").textContent = `logged in as ${accessKeyId}`;
  document.getElementById("account").hidden = false;
  document.body.dataset.session = "in";
}

async function whoAmI() {
  const response = await fetch("/dashboard/session", { credentials: "same-origin", cache: "no-store" });
  const answer = await response.json().catch(() => ({}));
  if (response.ok) showAccount(answer.access_key_id);
  else if (response.status === 401) showLogin(answer.error || "log in");
}

async function control(name, body) {
  try {
    const response = await send(`/dashboard/controls/${name}`, "POST", body);
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401) {
      showLogin(`${name}: ${answer.error || response.statusText}`);
      return null;
    }
    if (!response.ok) {
      say(`${name}: ${answer.error || response.statusText}`, true);
      return null;
    }
    say(describeAnswer(name, answer));
    refresh();
    return answer;
  } catch (error) {
    say(`${name}: ${error}`, true);
    return null;
  }
}

function renderClock(clock) {
  const scale = clock.time_scale;
  const explain = scale === 1
    ? "AWS's own pace"
    : `1 wall second = ${Charts.formatValue(scale)} AWS seconds; a ${clock.period} s datapoint every ${Charts.formatValue(clock.period / scale)} s`;
  document.getElementById("clock").innerHTML =
    `AWS clock <b>${new Date(clock.now * 1000).toISOString().slice(11, 19)}Z</b> · time scale <b>×${Charts.formatValue(scale)}</b> (${explain})`;
}

function renderTraffic(traffic) {
  const box = document.getElementById("traffic");
  if (traffic.error) {
    box.innerHTML = `<div class="figures">${figure("pattern", NA)}${figure("orders/s asked now", NA)}</div>${unavailable(traffic)}`;
    return;
  }
  // A daily pattern says the hour of its day: with one clock it is the AWS clock's hour.
  const hour = typeof traffic.hour === "number"
    ? figure("its day's time", `${String(Math.floor(traffic.hour)).padStart(2, "0")}:${String(Math.floor((traffic.hour % 1) * 60)).padStart(2, "0")}`, "", traffic.aligned_to_clock ? "started at the AWS clock's hour: the rush is at 08:00 on that clock" : "not aligned to the AWS clock")
    : "";
  box.innerHTML = `<div class="figures">${figure("pattern", escapeHtml(traffic.pattern))}${figure("orders/s asked now", number(traffic.target_rate, 1))}${figure("base rate", number(traffic.rate, 1))}${figure("peak rate", number(traffic.peak_rate, 1))}${hour}</div>`;
}

function renderThroughput(throughput, latency, clock) {
  const box = document.getElementById("throughput");
  if (throughput.error) {
    box.innerHTML = `<div class="figures">${figure("brewed/s", NA)}${figure("accepted/s", NA)}</div>${unavailable(throughput)}`;
  } else {
    box.innerHTML = `<div class="figures">${figure("brewed/s", number(throughput.brewed_per_second, 1))}${figure("accepted/s", number(throughput.accepted_per_second, 1))}</div><div class="spark"></div><p class="note">from the ledger's counts over the last ${number(throughput.over_seconds)} wall seconds; the chart's clock is the wall clock (3 minutes)</p>`;
    const series = throughput.series || [];
    const now = clock.wall;
    Charts.render(box.querySelector(".spark"), {
      height: 90,
      xmin: now - 180,
      xmax: now,
      series: [
        { name: "brewed/s", points: series.map((r) => [r[0], r[1]]) },
        { name: "accepted/s", points: series.map((r) => [r[0], r[2]]) },
      ],
      empty: "measuring…",
    });
  }
  const lat = document.getElementById("latency");
  if (latency.error) {
    lat.innerHTML = `<h3>accepted → ready latency</h3><div class="figures">${figure("p50", NA)}${figure("p90", NA)}${figure("p99", NA)}</div>${unavailable(latency)}`;
  } else {
    lat.innerHTML = `<h3>accepted → ready latency (s)</h3><div class="figures">${figure("p50", number(latency.p50, 2))}${figure("p90", number(latency.p90, 2))}${figure("p99", number(latency.p99, 2))}${figure("orders", number(latency.orders))}</div><p class="note">${escapeHtml(latency.source)}, ${latency.baristas} barista(s)</p>`;
  }
}

function renderLedger(ledger, live) {
  const box = document.getElementById("ledger");
  const backend = ledger.backend ? `backend: <b>${escapeHtml(ledger.backend)}</b>` : "backend: n/a";
  if (ledger.error) {
    box.innerHTML = `<p class="note">${backend}</p><div class="figures">${["accepted", "brewed", "dead-lettered", "in flight", "duplicates", "lost"].map((l) => figure(l, NA)).join("")}</div>${unavailable(ledger)}`;
    return;
  }
  const lost = ledger.lost === null ? NA : number(ledger.lost);
  const dlq = live && !live.error ? Object.entries(live).map(([q, n]) => `${escapeHtml(q)}: ${n}`).join(" · ") : "";
  box.innerHTML = `<p class="note">${backend}</p><div class="figures">${figure("accepted", number(ledger.accepted))}${figure("brewed", number(ledger.brewed))}${figure("dead-lettered", number(ledger.dead_lettered))}${figure("in flight", number(ledger.in_flight))}${figure("duplicates", number(ledger.duplicates), ledger.duplicates > 0 ? "bad" : "")}${figure("lost (at most)", lost, ledger.lost > 0 ? "bad" : "", ledger.lost_reason || "accepted orders neither brewed, dead-lettered nor on the orders queue: the least over the last 10 s, so a race between reading the ledger and the queue is not counted")}</div>${ledger.lost_reason ? `<p class="note">lost n/a: ${escapeHtml(ledger.lost_reason)}</p>` : ""}${dlq ? `<p class="note">on the queues now: ${dlq}</p>` : ""}`;
}

function renderQueues(queues, clock) {
  const box = document.getElementById("queues");
  const wanted = queues.map((q) => q.queue).join("|");
  if (box.dataset.queues !== wanted) {
    box.innerHTML = `<div class="charts">${queues.map((q) => `<div data-queue="${escapeHtml(q.queue)}"><h3>${escapeHtml(q.queue)} · <span class="latest"></span></h3><div class="chart-box"></div></div>`).join("")}</div>`;
    box.dataset.queues = wanted;
  }
  for (const queue of queues) {
    const holder = box.querySelector(`[data-queue="${CSS.escape(queue.queue)}"]`);
    holder.querySelector(".latest").innerHTML = queue.latest === null ? "backlog n/a" : `backlog ${number(queue.latest)}`;
    Charts.render(holder.querySelector(".chart-box"), {
      xmin: clock.since,
      xmax: clock.now,
      series: [{ name: "", points: queue.series }],
      empty: "no backlog datapoints: a policy on this queue and BARISTA_BROKER_URL record them",
    });
  }
}

// The queue: each order to exactly one barista (their counts add up to the orders brewed).
function renderFanoutQueue(queue) {
  const box = document.getElementById("fanout-queue");
  const rows = queue.baristas.map((b) => `<tr><td><code>${escapeHtml(b.instance_id)}</code></td><td class="count">${number(b.orders)}</td></tr>`).join("");
  const totals = queue.ledger_error
    ? `<p class="note">ledger n/a: ${escapeHtml(queue.ledger_error)}</p>`
    : `<div class="figures">${figure("accepted", number(queue.accepted))}${figure("brewed", number(queue.brewed))}${figure("duplicates", number(queue.duplicates), queue.duplicates > 0 ? "bad" : "")}</div>`;
  box.innerHTML = `<h3>queue ${escapeHtml(queue.queue)}: each order to exactly one barista</h3>${totals}
    <table><thead><tr><th>barista</th><th class="count">orders it brewed</th></tr></thead><tbody>${rows || '<tr><td colspan="2" class="note">no barista reports yet</td></tr>'}</tbody></table>
    <p class="note">since each live barista started; together ${number(queue.live_total)}: the orders are shared out, none is brewed twice</p>`;
}

// The topic: each event to every subscriber; stop one to see durable vs fire-and-forget.
function renderFanoutTopic(topic, canSwitch) {
  const box = document.getElementById("fanout-topic");
  if (topic.error) {
    box.innerHTML = `<h3>topic: each event to every subscriber</h3>${unavailable(topic)}`;
    return;
  }
  const published = topic.published
    ? `<div class="figures">${figure("placed (published)", number(topic.published["order-placed"]))}${figure("ready (published)", number(topic.published["order-ready"]))}</div>`
    : '<p class="note">published n/a: needs the ledger</p>';
  const rows = topic.subscribers.map((s) => {
    const running = s.running !== false;
    const kind = s.durable === undefined || s.durable === null ? "" : s.durable ? "durable" : "fire-and-forget";
    const state = s.running === false ? badge("stopped", "state-terminating") : s.error ? badge("no answer", "state-unhealthy") : badge("running", "state-in-service");
    const received = s.error ? NA : number(s.received);
    const missed = s.error || s.missed === null || s.missed === undefined ? NA : number(s.missed);
    const button = canSwitch
      ? `<button data-subscriber="${escapeHtml(s.name)}" data-running="${!running}">${running ? "stop" : "start"}</button>`
      : "";
    return `<tr class="${running ? "" : "stopped"}" data-subscriber-row="${escapeHtml(s.name)}">
      <td><b>${escapeHtml(s.name)}</b></td><td>${escapeHtml(kind)}</td><td>${state}</td>
      <td class="count received">${received}</td><td class="count missed">${missed}</td><td class="actions">${button}</td></tr>`;
  }).join("");
  box.innerHTML = `<h3>topic ${escapeHtml(topic.topic)}: each event to every subscriber</h3>${published}
    <table><thead><tr><th>subscriber</th><th>subscription</th><th>container</th><th class="count">ready events received</th><th class="count">missed (about)</th><th></th></tr></thead><tbody>${rows}</tbody></table>
    <p class="note">received: since its container started. Missed: ready events published since it was last stopped from here (or since the stack started) that it did not receive. Stop loyalty and analytics for a while, then start them: the durable one catches up, the fire-and-forget one never gets what it missed.</p>`;
}

function renderFanout(fanout, canSwitch) {
  renderFanoutQueue(fanout.queue);
  renderFanoutTopic(fanout.topic, canSwitch);
}

function groupSection(group) {
  const section = document.createElement("section");
  section.className = "panel group";
  section.dataset.group = group.name;
  section.innerHTML = `
    <div class="group-head">
      <h2>Auto Scaling group ${escapeHtml(group.name)}</h2>
      <span class="sizes"></span>
      <form class="controls desired-form">
        <label>desired capacity <input name="desired" type="number" min="0" step="1"></label>
        <button type="submit">set</button>
      </form>
    </div>
    <div class="charts">
      <div><h3>instances over time</h3><div class="capacity-chart"></div></div>
      <div class="policies"></div>
    </div>
    <p class="placement note"></p>
    <table><thead><tr><th>instance</th><th>state</th><th>zone (host)</th><th>market</th><th>scale-in</th><th>launched (AWS clock)</th><th></th></tr></thead><tbody></tbody></table>`;
  section.querySelector(".desired-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = event.target.elements.desired;
    if (input.value === "") return;
    control("desired-capacity", { group: group.name, desired_capacity: Number(input.value) }).then(() => { input.value = ""; });
  });
  section.querySelector("tbody").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = button.closest("tr").dataset.instance;
    const action = button.dataset.action;
    if (action === "protect") control("protect", { group: group.name, instance_id: id, protected: button.dataset.value === "true" });
    if (action === "pause") control("pause", { instance_id: id, paused: button.dataset.value === "true" });
    if (action === "kill") control("kill", { instance_id: id });
    if (action === "reclaim") {
      const row = button.closest("tr");
      control("reclaim-spot-capacity", { instance_type: row.dataset.type, availability_zone: row.dataset.zone });
    }
  });
  return section;
}

function renderGroup(section, group, clock, chaos) {
  const counts = Object.entries(group.counts).map(([state, n]) => `${n} ${state}`).join(", ") || "no instances";
  section.querySelector(".sizes").innerHTML =
    `min ${group.min_size} · desired <b class="desired">${group.desired_capacity}</b> · max ${group.max_size} — ${escapeHtml(counts)}${group.spot ? ` · ${group.spot} spot` : ""}${group.protected ? ` · ${group.protected} protected` : ""}`;
  // Per zone and host: on a Swarm (docs/swarm.md) each zone is a set of nodes.
  const hosts = group.placement.filter((p) => p.host);
  section.querySelector(".placement").textContent = hosts.length
    ? "per zone and host: " + hosts.map((p) => `${p.availability_zone} · ${p.host}: ${p.instances}`).join(" — ")
    : "";
  Charts.render(section.querySelector(".capacity-chart"), {
    xmin: clock.since,
    xmax: clock.now,
    integer: true,
    series: [{ name: "instances (from the activity history)", points: group.history, step: true }],
  });
  const policies = section.querySelector(".policies");
  const key = group.policies.map((p) => p.policy_name).join("|");
  if (policies.dataset.key !== key) {
    policies.innerHTML = group.policies.map((p) => `<div data-policy="${escapeHtml(p.policy_name)}"><h3>${escapeHtml(p.policy_name)} · ${escapeHtml(p.metric || p.policy_type)}</h3><div class="chart-box"></div></div>`).join("") || '<h3>no scaling policy</h3>';
    policies.dataset.key = key;
  }
  for (const policy of group.policies) {
    const holder = policies.querySelector(`[data-policy="${CSS.escape(policy.policy_name)}"] .chart-box`);
    if (policy.policy_type === "PredictiveScaling") {
      // The forecast against what the group had, and three hours of what it expects next.
      Charts.render(holder, {
        xmin: clock.since,
        xmax: clock.now + 3 * 3600,
        integer: true,
        empty: "no forecast yet: predictive scaling needs 24 hours of the load metric (make seed-history)",
        series: [
          { name: "capacity forecast", points: policy.forecast, step: true },
          { name: "instances", points: policy.actual, step: true },
          { name: "raised by the forecast", points: policy.from_forecast, dots: true },
        ],
      });
      continue;
    }
    if (policy.target === null) {
      holder.innerHTML = `<p class="note">${escapeHtml(policy.policy_type)}: runs when its CloudWatch alarm fires</p>`;
      continue;
    }
    Charts.render(holder, {
      xmin: clock.since,
      xmax: clock.now,
      target: policy.target,
      series: [{ name: "", points: policy.series }],
    });
  }
  const rows = group.instances.map((i) => {
    const paused = i.state === "unhealthy";
    const buttons = chaos
      ? `<button data-action="pause" data-value="${!paused}" ${i.state === "terminating" ? "disabled" : ""}>${paused ? "resume" : "pause"}</button><button class="danger" data-action="kill" ${i.state === "terminating" ? "disabled" : ""}>kill</button>`
      : "";
    // EC2 taking this Spot instance's pool back: every instance in it gets the two-minute notice.
    const reclaim = i.lifecycle === "spot" && i.instance_type
      ? `<button class="danger" data-action="reclaim" title="reclaim the ${escapeHtml(i.instance_type)} Spot pool in ${escapeHtml(i.availability_zone)}">reclaim pool</button>`
      : "";
    return `<tr data-instance="${escapeHtml(i.instance_id)}" data-type="${escapeHtml(i.instance_type || "")}" data-zone="${escapeHtml(i.availability_zone)}">
      <td><code>${escapeHtml(i.instance_id)}</code></td>
      <td class="state">${badge(i.state, stateClass(i.state))}${i.lifecycle_state ? ` <span class="note lifecycle-state">${escapeHtml(i.lifecycle_state)}</span>` : ""}</td>
      <td>${escapeHtml(i.availability_zone)}${i.host ? ` <span class="note host">${escapeHtml(i.host)}</span>` : ""}</td>
      <td>${i.lifecycle === "spot" ? badge("spot", "spot") : "on-demand"}${i.instance_type ? ` <span class="note">${escapeHtml(i.instance_type)}</span>` : ""}</td>
      <td>${i.protected ? badge("protected", "protected") : "—"}</td>
      <td>${Charts.clockLabel(i.launched_at)}</td>
      <td class="actions"><button data-action="protect" data-value="${!i.protected}">${i.protected ? "unprotect" : "protect"}</button>${buttons}${reclaim}</td>
    </tr>`;
  });
  section.querySelector("tbody").innerHTML = rows.join("") || '<tr><td colspan="7" class="note">no instances</td></tr>';
}

function renderGroups(groups, clock, chaos) {
  const container = document.getElementById("groups");
  const seen = new Set();
  for (const group of groups) {
    seen.add(group.name);
    if (!groupViews.has(group.name)) {
      const section = groupSection(group);
      groupViews.set(group.name, section);
      container.append(section);
    }
    renderGroup(groupViews.get(group.name), group, clock, chaos);
  }
  for (const [name, section] of groupViews) {
    if (!seen.has(name)) { section.remove(); groupViews.delete(name); }
  }
  if (groups.length === 0 && !container.querySelector(".empty-groups")) {
    container.innerHTML = '<section class="panel empty-groups"><h2>Auto Scaling groups</h2><p class="note">none yet: create one with <code>barista autoscaling create-auto-scaling-group</code></p></section>';
  } else if (groups.length > 0) {
    container.querySelector(".empty-groups")?.remove();
  }
}

function renderTargets(balancers) {
  const box = document.getElementById("targets");
  if (balancers.error) { box.innerHTML = unavailable(balancers); return; }
  const groups = balancers.target_groups || [];
  if (groups.length === 0) { box.innerHTML = '<p class="note">no target group: the ALB is not configured</p>'; return; }
  box.innerHTML = groups.map((tg) => {
    if (tg.error) return `<h3>${escapeHtml(tg.name)}</h3><p class="note">health n/a: ${escapeHtml(tg.error)}</p>`;
    const rows = tg.targets.map((t) => `<tr><td><code>${escapeHtml(t.id)}</code></td><td>${t.port}</td><td>${badge(t.state, stateClass(t.state))}</td><td class="note">${escapeHtml(t.reason || "")}</td></tr>`).join("");
    return `<h3>target group ${escapeHtml(tg.name)} (port ${tg.port})</h3><table><thead><tr><th>target</th><th>port</th><th>health</th><th>reason</th></tr></thead><tbody>${rows || '<tr><td colspan="4" class="note">no targets</td></tr>'}</tbody></table>`;
  }).join("");
}

// ECS services: deployments (the newest first, as DescribeServices), tasks, events; the deploy
// buttons register a new revision and update the service to it.
function renderServices(services, canDeploy) {
  const box = document.getElementById("ecs-services");
  if (!services || services.length === 0) { box.innerHTML = '<p class="note">no ECS service</p>'; return; }
  box.innerHTML = services.map((s) => {
    const rollout = (d) => d.rollout_state === "COMPLETED" ? "state-healthy" : d.rollout_state === "FAILED" ? "state-terminating" : "state-pending";
    const deployments = s.deployments.map((d) => `<tr data-deployment="${escapeHtml(d.id)}"><td><code>${escapeHtml(d.id)}</code></td><td>${escapeHtml(d.status)}</td><td><code>${escapeHtml(d.task_definition)}</code></td>
      <td class="rollout">${badge(d.rollout_state, rollout(d))} <span class="note">${escapeHtml(d.rollout_state_reason || "")}</span></td><td class="count">${number(d.running)}</td><td class="count">${number(d.failed)}</td></tr>`).join("");
    const tasks = s.tasks.map((t) => `<li><code>${escapeHtml(t.task_id.slice(0, 8))}</code> ${escapeHtml(t.task_definition)} ${badge(t.last_status, stateClass(t.last_status === "RUNNING" ? "in-service" : "pending"))} ${badge(t.health_status, stateClass(t.health_status === "HEALTHY" ? "healthy" : t.health_status === "UNHEALTHY" ? "unhealthy" : "pending"))}</li>`).join("");
    const events = s.events.map((e) => `<li><span class="when">${new Date(e.created_at * 1000).toISOString().slice(11, 19)}</span> ${escapeHtml(e.message)}</li>`).join("");
    const breaker = s.circuit_breaker.enable
      ? `circuit breaker on${s.circuit_breaker.rollback ? ", with rollback" : ""}: a deployment fails after ${s.circuit_breaker.threshold} tasks fail to start`
      : "no circuit breaker";
    const buttons = canDeploy
      ? `<div class="controls"><button data-deploy="environment" data-cluster="${escapeHtml(s.cluster)}" data-service="${escapeHtml(s.name)}">deploy a new revision</button>
         <button data-deploy="failing-health-check" data-cluster="${escapeHtml(s.cluster)}" data-service="${escapeHtml(s.name)}">deploy a bad revision (health check fails)</button></div>`
      : "";
    return `<div class="ecs-service" data-service="${escapeHtml(s.name)}"><h3>service ${escapeHtml(s.name)} in cluster ${escapeHtml(s.cluster)} (${escapeHtml(s.launch_type)}, on <code>${escapeHtml(s.task_definition)}</code>)</h3>
      <div class="figures">${figure("running", number(s.running), "running")}${figure("pending", number(s.pending))}${figure("desired", number(s.desired), "desired")}</div>
      <p class="note">${escapeHtml(breaker)}</p>${buttons}
      <table><thead><tr><th>deployment</th><th>status</th><th>task definition</th><th>rollout</th><th class="count">running</th><th class="count">failed tasks</th></tr></thead><tbody>${deployments}</tbody></table>
      <ul class="tasks">${tasks || '<li class="note">no tasks</li>'}</ul>
      <ol class="activities events">${events || '<li class="note">no events yet</li>'}</ol></div>`;
  }).join("");
}

function renderActivities(activities) {
  document.getElementById("activities").innerHTML = activities.map((a) => `
    <li><span class="when">${new Date(a.start_time * 1000).toISOString().slice(11, 19)}</span>
      <b>${escapeHtml(a.group)}</b> ${escapeHtml(a.description)} ${badge(a.status, a.status === "Successful" ? "state-healthy" : a.status === "Failed" ? "state-terminating" : "state-pending")}
      <div class="cause">${escapeHtml(a.cause)}</div></li>`).join("") || '<li class="note">no activity yet</li>';
}

function render(state) {
  renderClock(state.clock);
  renderTraffic(state.traffic);
  renderThroughput(state.throughput, state.latency, state.clock);
  renderLedger(state.ledger, state.live_backlog);
  renderFanout(state.fanout, state.controls.subscribers);
  renderQueues(state.queues, state.clock);
  renderGroups(state.groups, state.clock, state.controls.chaos);
  renderServices(state.services, state.controls.deploy);
  renderTargets(state.load_balancers);
  renderActivities(state.activities);
  document.getElementById("traffic-form").querySelector("button").disabled = !state.controls.traffic;
  document.getElementById("poison").disabled = !state.controls.poison;
  document.getElementById("restart-broker").disabled = !state.controls.restart_broker;
  document.body.dataset.updated = String(state.clock.wall);
}

async function refresh() {
  if (loggedOut()) return;
  try {
    const response = await fetch("/dashboard/state", { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) {
      const answer = await response.json().catch(() => ({}));
      showLogin(answer.error || "log in");
      return;
    }
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    render(await response.json());
    if (document.getElementById("status").textContent.startsWith("orchestrator")) say("");
  } catch (error) {
    say(`orchestrator does not answer: ${error.message}`, true);
  }
}

document.getElementById("traffic-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target.elements;
  const body = {};
  if (form.pattern.value) body.pattern = form.pattern.value;
  if (form.rate.value !== "") body.rate = Number(form.rate.value);
  if (form.peak_rate.value !== "") body.peak_rate = Number(form.peak_rate.value);
  control("traffic", body);
});
document.getElementById("poison").addEventListener("click", () => control("poison"));
document.getElementById("fanout-topic").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-subscriber]");
  if (!button) return;
  button.disabled = true;
  control("subscriber", { subscriber: button.dataset.subscriber, running: button.dataset.running === "true" });
});
document.getElementById("ecs-services").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-deploy]");
  if (!button) return;
  button.disabled = true;
  control("deploy", { cluster: button.dataset.cluster, service: button.dataset.service, change: button.dataset.deploy });
});
document.getElementById("restart-broker").addEventListener("click", () => {
  if (window.confirm("Restart the broker container? Orders wait (or get 503) until it is back.")) control("restart-broker");
});

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target.elements;
  try {
    const response = await send("/dashboard/session", "POST", {
      access_key_id: form.access_key_id.value.trim(),
      secret_access_key: form.secret_access_key.value.trim(),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      say(`log in: ${answer.error || response.statusText}`, true);
      return;
    }
    form.secret_access_key.value = "";
    showAccount(answer.access_key_id);
    say(`logged in as ${answer.access_key_id}`);
    refresh();
  } catch (error) {
    say(`log in: ${error}`, true);
  }
});
document.getElementById("logout").addEventListener("click", async () => {
  try {
    const response = await send("/dashboard/session", "DELETE");
    const answer = await response.json().catch(() => ({}));
    if (!response.ok && response.status !== 401) {
      say(`log out: ${answer.error || response.statusText}`, true);
      return;
    }
    showLogin("logged out");
  } catch (error) {
    say(`log out: ${error}`, true);
  }
});

whoAmI().then(refresh, refresh);
setInterval(refresh, POLL_MS);
