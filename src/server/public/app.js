// CloudPhoenix dashboard: plain JS, no build step. Every string from the API
// (reasons, evidence, log excerpts) is untrusted and goes in through textContent.
'use strict';

const STATUS_EVERY_MS = 5000;
const RUNS_EVERY_MS = 2000;
const TOKEN_KEY = 'phoenix.token';

const state = { role: 'none', chart: null, chartSignals: [], status: null, runs: [] };

function $(selector) {
  return document.querySelector(selector);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class Unauthorized extends Error {}

async function api(path, init) {
  const headers = { Accept: 'application/json' };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  if (init && init.body) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) throw new Unauthorized((await response.json()).error);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.status + ' ' + response.statusText);
  return body;
}

function fmtTime(unix) {
  return new Date(unix * 1000).toLocaleString(undefined, { hour12: false });
}

function fmtAge(seconds) {
  if (seconds < 90) return Math.round(seconds) + ' s ago';
  if (seconds < 5400) return Math.round(seconds / 60) + ' min ago';
  return Math.round(seconds / 3600) + ' h ago';
}

function label(text) {
  return String(text).replace(/_/g, ' ');
}

function showLogin(message) {
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
  $('#connection').textContent = 'not signed in';
}

function setConnection(ok, message) {
  const node = $('#connection');
  node.textContent = ok
    ? 'live · updated ' + new Date().toLocaleTimeString(undefined, { hour12: false })
    : message;
  node.className = ok ? 'muted' : 'error';
}

/** The runbooks' pre-flight checks, re-run by the controller every readiness_interval. */
function renderRunbookReadiness(report, now) {
  const line = $('#runbook-ready');
  if (!report) {
    line.hidden = true;
    $('#runbook-failures').replaceChildren();
    return;
  }
  line.hidden = false;
  line.replaceChildren(
    'Runbooks: ',
    el('strong', {
      class: report.ready ? 'ready-yes' : 'ready-no',
      text: report.ready ? 'ready' : 'NOT ready',
    }),
    ' · checked ' + fmtAge(now - report.checked_at),
  );
  const failures = [];
  for (const runbook of report.runbooks) {
    for (const problem of runbook.problems) failures.push(runbook.runbook + ': ' + problem);
    for (const step of runbook.steps)
      for (const check of step.checks)
        if (!check.ok || check.warn)
          failures.push({
            text:
              runbook.runbook + ' ' + step.stage + '/' + step.step + ' ' + check.check + ': ' + check.detail,
            warn: check.ok,
          });
  }
  $('#runbook-failures').replaceChildren(
    ...failures.map((f) => el('li', { class: f.warn ? 'ready-warn' : 'ready-no', text: f.text })),
  );
}

/** The way back after a failover: whether a failback could start now; hidden without a failback runbook. */
function renderFailbackReadiness(report, now) {
  const line = $('#failback-ready');
  line.hidden = !report;
  if (!report) {
    $('#failback-reasons').replaceChildren();
    return;
  }
  const measured = [];
  if (report.lag_s !== null) measured.push('lag ' + report.lag_s + ' s');
  if (report.tables_copying)
    measured.push(report.tables_copying + (report.tables_copying === 1 ? ' table' : ' tables') + ' copying');
  line.replaceChildren(
    'Failback: ',
    el('strong', {
      class: report.ready ? 'ready-yes' : 'ready-no',
      text: report.ready ? 'ready' : 'not ready',
    }),
    measured.length ? ' · ' + measured.join(', ') : '',
    ' · checked ' + fmtAge(now - report.checked_at),
  );
  $('#failback-reasons').replaceChildren(
    ...(report.ready ? [] : report.reasons).map((r) => el('li', { class: 'ready-no', text: r })),
  );
}

/** Who acts: this controller (leader) or another one it follows; hidden without leader election. */
function renderLeader(leader) {
  const badge = $('#leader');
  badge.hidden = !leader;
  if (!leader) return;
  badge.dataset.role = leader.role;
  badge.textContent =
    leader.role === 'leader'
      ? 'this controller leads (fencing token ' + leader.token + ')'
      : 'follower · leader: ' + (leader.leader || 'none (lease free)');
  badge.className = leader.role === 'leader' ? 'ready-yes' : 'muted';
}

function renderStatus(status) {
  renderLeader(status.leader);
  renderRunbookReadiness(status.runbook_readiness, status.now);
  renderFailbackReadiness(status.failback_readiness, status.now);
  const latest = status.latest;
  if (!latest) {
    $('#score').textContent = '–';
    $('#level').textContent = 'no cycle yet';
    return;
  }
  $('#score').textContent = latest.score;
  // The probes follow the serving site (probes.sites): say which site the score describes.
  const serving = latest.site || (status.site && status.site.active_site) || 'primary';
  $('#score-site').textContent = 'of the serving site: ' + siteLabel(serving);
  const level = $('#level');
  level.textContent = label(latest.level);
  level.className = 'badge level-' + latest.level;
  const decision = latest.decision;
  const action = $('#action');
  action.textContent = label(decision.action);
  action.className = 'big small';
  $('#decision-reason').textContent = decision.reason;
  $('#cycle-age').textContent = fmtAge(status.now - latest.at);
  $('#cycle-age').className = 'big small' + (status.stale ? ' ready-no' : '');
  $('#cycle-reason').textContent = (status.stale ? 'stale · ' : '') + (latest.reason || 'schedule');

  const dr = status.dr_readiness;
  $('#dr-label').textContent =
    dr.standby && dr.standby !== 'dr'
      ? 'Readiness of ' + siteName(dr.standby) + ' to take traffic back'
      : 'DR readiness';
  const ready = $('#dr-ready');
  ready.textContent = dr.source === 'unknown' ? 'unknown' : dr.ready ? 'ready' : 'not ready';
  ready.className = 'big small ' + (dr.source === 'unknown' ? '' : dr.ready ? 'ready-yes' : 'ready-no');
  $('#dr-reasons').replaceChildren(...dr.reasons.map((r) => el('li', { text: r })));

  const rows = latest.contributions.map((c) => {
    const signal = latest.signals[c.signal] || {};
    return el(
      'tr',
      { 'data-signal': c.signal },
      el('td', { text: c.signal }),
      el('td', {}, el('span', { class: 'badge status-' + c.status, text: c.status })),
      el('td', { text: c.weight + ' / ' + c.max }),
      el('td', { class: 'muted', text: signal.detail || '' }),
    );
  });
  for (const [name, signal] of Object.entries(latest.signals)) {
    if (latest.contributions.some((c) => c.signal === name)) continue;
    rows.push(
      el(
        'tr',
        { 'data-signal': name },
        el('td', { text: name + ' (observed)' }),
        el('td', {}, el('span', { class: 'badge status-' + signal.status, text: signal.status })),
        el('td', { text: '–' }),
        el('td', { class: 'muted', text: signal.detail || '' }),
      ),
    );
  }
  $('#signals tbody').replaceChildren(...rows);
}

const ROLE_NAMES = { primary: 'primary', dr: 'DR', secondary: 'secondary region' };
const CLOUD_NAMES = { aws: 'AWS', azure: 'Azure', gcp: 'Google Cloud' };

/** A site by its cloud and region, as the topology declares them ("Azure eastus2"); its role without one. */
function siteName(role) {
  const site = state.status && state.status.sites && state.status.sites[role];
  if (!site) return siteLabel(role);
  const cloud = CLOUD_NAMES[site.cloud] || site.cloud;
  return site.region ? cloud + ' ' + site.region : cloud + ' (' + (ROLE_NAMES[role] || role) + ')';
}

/** A site by its cloud, region and role: "Azure eastus2 (DR)". */
function siteLabel(role) {
  const site = state.status && state.status.sites && state.status.sites[role];
  const roleName = ROLE_NAMES[role] || role;
  if (!site) return { primary: 'AWS (primary)', dr: 'Azure (DR)' }[role] || roleName;
  const cloud = CLOUD_NAMES[site.cloud] || site.cloud;
  return (site.region ? cloud + ' ' + site.region : cloud) + ' (' + roleName + ')';
}

function fmtClock(unix) {
  return new Date(unix * 1000).toLocaleTimeString(undefined, { hour12: false });
}

/** Hours and minutes: when a state began ("since 20:16"). */
function fmtHourMinute(unix) {
  return new Date(unix * 1000).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}

/**
 * The evidence behind a decision: what the run recorded when the decision started it (its strongest items),
 * else the latest decision's reason (an operator's run records none).
 */
function evidenceOf(run, latest) {
  const recorded = run.decision && run.decision.evidence;
  if (recorded && recorded.length)
    return [...recorded]
      .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
      .slice(0, 3)
      .map((e) => e.says)
      .join('; ');
  if (run.decision) return run.decision.reason;
  return latest && latest.decision ? latest.decision.reason : '';
}

/** What a failover now would lose, from the signals that measure it; "not measured" when none does. */
function dataAtRisk(latest) {
  const parts = [];
  for (const [name, signal] of Object.entries((latest && latest.signals) || {})) {
    if (typeof signal.data_behind_s === 'number')
      parts.push(signal.data_behind_s + ' s of writes (' + name + ')');
    else if (signal.data_at_risk === 'unknown') parts.push('unknown (' + name + ')');
  }
  return 'Data at risk: ' + (parts.length ? parts.join(', ') : 'not measured');
}

/** The banner's message for the site state: tone (ok, warn, bad), headline, detail and the run to act on. */
function siteMessage(site, latest, runs) {
  const op = site.old_primary;
  const run = site.run_id ? ' (run ' + site.run_id + ')' : '';
  const serving = 'Traffic on ' + siteName(site.active_site);
  const since = site.since ? ' since ' + fmtHourMinute(site.since) : '';
  if (op && op.fence === 'fence_pending' && op.writable)
    return {
      tone: 'bad',
      headline: 'Old primary back and writable: fencing',
      detail:
        'Split-brain risk: ' +
        siteName(op.site) +
        ' took writes' +
        (op.checked_at ? ' when checked at ' + fmtClock(op.checked_at) : '') +
        '. ' +
        serving +
        '.',
    };
  switch (site.state) {
    case 'failing_over': {
      const waiting = runs.find((r) => r.id === site.run_id && r.status === 'waiting_approval');
      if (!waiting)
        return {
          tone: 'warn',
          headline: 'Failing over to ' + siteName(site.target_site) + run,
          detail: serving + ' until the cut-over.',
        };
      // When the decision was taken (recorded with the run), not when a person opened the page.
      const decidedAt = waiting.decision ? waiting.decision.at : waiting.started_at;
      const evidence = evidenceOf(waiting, latest);
      return {
        tone: 'warn',
        headline: 'Failover decided at ' + fmtClock(decidedAt) + ': approve or abort',
        detail: dataAtRisk(latest) + (evidence ? ' · Evidence: ' + evidence : ''),
        run: waiting,
      };
    }
    case 'dr_active':
    case 'secondary_active':
      return op && op.fence === 'fence_pending'
        ? {
            tone: 'warn',
            headline: serving + since + run,
            detail:
              'Old primary (' +
              siteName(op.site) +
              ') not fenced yet: the controller fences it the moment it answers' +
              (op.checked_at
                ? ' (checked at ' +
                  fmtClock(op.checked_at) +
                  ': ' +
                  (op.reachable ? 'answers' : 'no answer') +
                  ').'
                : '.'),
          }
        : {
            tone: 'ok',
            headline: serving + since + run,
            detail: 'Reprotect when ' + siteName(op ? op.site : 'primary') + ' is healthy.',
          };
    case 'reprotecting':
      return {
        tone: 'ok',
        headline: 'Reprotecting ' + siteName(op ? op.site : 'primary') + run,
        detail: serving + since + '.',
      };
    case 'reverse_protected': {
      // The state says the way back is built; failback readiness says whether it is caught up right now.
      const way = state.status && state.status.failback_readiness;
      const back = siteName(op ? op.site : 'primary');
      if (way && !way.ready)
        return {
          tone: 'ok',
          headline: 'Reprotected: fail back when the way back has caught up',
          detail: serving + since + '; failback to ' + back + ' not ready: ' + way.reasons.join('; ') + '.',
        };
      return {
        tone: 'ok',
        headline: 'Ready to fail back',
        detail: serving + since + '; fail back to ' + back + ' at a quiet hour (phoenix failback).',
      };
    }
    case 'failing_back':
      return {
        tone: 'warn',
        headline: 'Failing back to ' + siteName(site.target_site) + run,
        detail: serving + ' until the cut-over.',
      };
    default:
      return { tone: 'ok', headline: serving + since };
  }
}

/** The top banner: the site state, the next action, the pause; hidden when the server has no site state. */
function renderBanner() {
  const site = state.status && state.status.site;
  const banner = $('#site-banner');
  banner.hidden = !site;
  if (!site) return;
  const message = siteMessage(site, state.status.latest, state.runs);
  const operate = state.role === 'operate';
  banner.dataset.state = site.state;
  banner.dataset.fence = site.old_primary ? site.old_primary.fence : 'none';
  banner.dataset.paused = site.paused ? 'yes' : 'no';
  banner.className = 'banner tone-' + (message.tone === 'ok' && site.paused ? 'warn' : message.tone);
  $('#site-headline').textContent = message.headline;
  $('#site-detail').textContent = message.detail || '';
  $('#site-next').textContent = 'Next: ' + site.next_action;
  $('#site-actions').replaceChildren(
    ...(message.run
      ? [
          el('button', {
            class: 'approve',
            disabled: !operate,
            text: 'Approve',
            onclick: () => act(message.run, 'approve'),
          }),
          el('button', {
            class: 'abort',
            disabled: !operate,
            text: 'Abort',
            onclick: () => act(message.run, 'abort'),
          }),
        ]
      : []),
  );
  const paused = site.paused;
  $('#site-pause').textContent = paused
    ? 'Automation paused until ' + fmtTime(paused.until) + ' by ' + paused.by + ': ' + paused.reason
    : 'Automation on';
  $('#site-pause').className = paused ? 'ready-no' : 'muted';
  const toggle = $('#pause-toggle');
  toggle.hidden = false;
  toggle.textContent = paused ? 'Resume automation' : 'Pause automation…';
  toggle.disabled = !operate;
  toggle.title = operate ? '' : 'needs an operate token';
}

/** Pause (for how long and why, both asked) or resume automation; the operate role only. */
async function togglePause() {
  const site = state.status && state.status.site;
  if (!site) return;
  try {
    if (site.paused) {
      if (!window.confirm('Resume automation? Runbooks may start again.')) return;
      await api('/api/resume', { method: 'POST', body: '{}' });
    } else {
      const duration = window.prompt('Pause automation for how long? (e.g. 30m, 2h)', '1h');
      if (!duration) return;
      const reason = window.prompt('Why? (shown on the dashboard, in status and reports)');
      if (!reason) return;
      await api('/api/pause', { method: 'POST', body: JSON.stringify({ for: duration, reason }) });
    }
  } catch (error) {
    window.alert('pause/resume failed: ' + error.message);
  }
  refreshStatus();
}

const PALETTE = ['#2b6cb0', '#c05621', '#2f855a', '#805ad5', '#b83280', '#718096', '#d69e2e', '#319795'];

function renderChart(points) {
  const container = $('#chart');
  container.setAttribute('data-points', String(points.length));
  $('#chart-empty').hidden = points.length > 0;
  const signals = [...new Set(points.flatMap((p) => Object.keys(p.signals)))].sort();
  const data = [
    points.map((p) => p.at),
    points.map((p) => p.score),
    ...signals.map((name) => points.map((p) => (p.signals[name] ? p.signals[name].weight : null))),
  ];
  const width = Math.max(320, container.clientWidth);
  if (!state.chart || state.chartSignals.join() !== signals.join()) {
    if (state.chart) state.chart.destroy();
    state.chartSignals = signals;
    state.chart = new uPlot(
      {
        width,
        height: 300,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(12, max + 1)] } },
        axes: [{}, { label: 'weight / score' }],
        series: [
          { label: 'time', value: (_u, v) => (v == null ? '–' : fmtTime(v)) },
          { label: 'score', stroke: '#1d2430', width: 2.5 },
          ...signals.map((name, i) => ({
            label: name,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.2,
            dash: [4, 3],
          })),
        ],
      },
      data,
      container,
    );
  } else {
    state.chart.setData(data);
  }
}

function renderDecisions(decisions) {
  const box = $('#decisions');
  if (!decisions.length) {
    box.replaceChildren(el('p', { class: 'muted', text: 'No decisions yet.' }));
    return;
  }
  // Consecutive cycles that reached the same decision for the same reason are one entry. Reasons that differ
  // only in their numbers and durations ("decided 30 s ago", "lasted 1m30s") are the same reason a cycle
  // later; the entry shows the newest one's words.
  const shape = (reason) => reason.replace(/\d[\d.]*(?:[a-z]{1,2}\d[\d.]*)*[a-z]{0,2}\b/gi, '#');
  const sameReason = (a, b) => shape(a) === shape(b);
  const groups = [];
  for (const d of decisions) {
    const last = groups[groups.length - 1];
    if (
      last &&
      last.d.action === d.action &&
      last.d.score === d.score &&
      last.d.category === d.category &&
      sameReason(last.d.reason, d.reason)
    ) {
      last.count++;
      last.first = d.at;
    } else groups.push({ d, count: 1, first: d.at });
  }
  box.replaceChildren(
    ...groups.slice(0, 10).map(({ d, count, first }) => {
      const analysis = d.analysis;
      const evidence =
        analysis && analysis.evidence && analysis.evidence.length
          ? el(
              'details',
              {},
              el('summary', {
                text: analysis.evidence.length + ' evidence items (' + analysis.analyzer + ')',
              }),
              el(
                'table',
                { class: 'evidence' },
                el(
                  'thead',
                  {},
                  el(
                    'tr',
                    {},
                    el('th', { text: 'source' }),
                    el('th', { text: 'item' }),
                    el('th', { text: 'weight' }),
                    el('th', { text: 'says' }),
                  ),
                ),
                el(
                  'tbody',
                  {},
                  ...analysis.evidence.map((e) =>
                    el(
                      'tr',
                      {},
                      el('td', { text: e.source }),
                      el('td', { text: e.item }),
                      el('td', {
                        class: e.weight > 0 ? 'w-pos' : e.weight < 0 ? 'w-neg' : '',
                        text: e.weight,
                      }),
                      el('td', { text: e.says }),
                    ),
                  ),
                ),
              ),
            )
          : null;
      return el(
        'div',
        { class: 'decision' },
        el(
          'div',
          { class: 'decision-head' },
          el('span', {
            class: 'muted',
            text: count > 1 ? fmtTime(first) + ' – ' + fmtTime(d.at) : fmtTime(d.at),
          }),
          count > 1 ? el('span', { class: 'badge', text: count + ' cycles' }) : null,
          el('span', { class: 'badge level-' + d.action, text: label(d.action) }),
          el('span', { text: 'score ' + d.score + ' · ' + label(d.level) }),
          el('span', { class: 'muted', text: label(d.category) + ' · ' + d.confidence + ' confidence' }),
        ),
        el('div', { class: 'reason', text: d.reason }),
        d.blocked_by && d.blocked_by.length
          ? el('div', { class: 'muted', text: 'held back by: ' + d.blocked_by.join('; ') })
          : null,
        analysis && analysis.reasoning && analysis.reasoning !== d.reason
          ? el('div', { class: 'muted reason', text: analysis.reasoning })
          : null,
        evidence,
      );
    }),
  );
}

async function act(run, verb) {
  const waiting = run.stages.find((s) => s.status === 'waiting_approval');
  const what = verb === 'approve' ? 'Approve stage "' + (waiting ? waiting.name : '?') + '" of' : 'Abort';
  if (!window.confirm(what + ' run ' + run.id + ' (' + run.runbook + ')?')) return;
  try {
    await api('/api/runs/' + encodeURIComponent(run.id) + '/' + verb, { method: 'POST', body: '{}' });
  } catch (error) {
    window.alert(verb + ' failed: ' + error.message);
  }
  refreshRuns();
}

/** With a token the report is fetched with it (a plain link sends none) and shown from a blob. */
async function openReport(event, run) {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return;
  event.preventDefault();
  const response = await fetch(event.currentTarget.href, { headers: { Authorization: 'Bearer ' + token } });
  if (!response.ok)
    return window.alert('report of ' + run.id + ': ' + response.status + ' ' + response.statusText);
  window.open(URL.createObjectURL(await response.blob()), '_blank', 'noopener');
}

function renderRuns(runs) {
  const box = $('#runs');
  if (!runs.length) {
    box.replaceChildren(el('p', { class: 'muted', text: 'No runs.' }));
    return;
  }
  const operate = state.role === 'operate';
  box.replaceChildren(
    ...runs.slice(0, 10).map((run) => {
      const live = run.status === 'running' || run.status === 'waiting_approval' || run.status === 'pending';
      const done = run.stages.filter((s) => s.status === 'succeeded' || s.status === 'skipped').length;
      return el(
        'div',
        { class: 'run', 'data-id': run.id, 'data-status': run.status },
        el(
          'div',
          { class: 'run-head' },
          el('span', { class: 'name', text: run.runbook }),
          el('span', { class: 'badge run-' + run.status, text: label(run.status) }),
          run.dry_run ? el('span', { class: 'badge', text: 'dry run' }) : null,
          el('span', {
            class: 'muted',
            text: done + '/' + run.stages.length + ' stages · started ' + fmtTime(run.started_at),
          }),
          run.rto_s !== undefined
            ? el('span', { class: 'muted', text: 'RTO ' + Math.round(run.rto_s) + ' s' })
            : null,
          run.rpo_s !== undefined
            ? el('span', { class: 'muted', text: 'RPO ' + Math.round(run.rpo_s) + ' s' })
            : null,
          el('a', {
            class: 'report-link',
            href: '/api/runs/' + encodeURIComponent(run.id) + '/report?format=html',
            target: '_blank',
            rel: 'noopener',
            text: 'report',
            onclick: (event) => openReport(event, run),
          }),
        ),
        el(
          'div',
          { class: 'stages' },
          ...run.stages.map((s) => {
            const secs =
              s.started_at !== undefined && s.finished_at !== undefined
                ? ' · ' + Math.round(s.finished_at - s.started_at) + ' s'
                : '';
            return el('span', {
              class: 'stage stage-' + s.status + (s.label ? ' stage-continued' : ''),
              'data-stage': s.name,
              'data-status': s.status,
              title: s.error || (s.approved_by ? 'approved by ' + s.approved_by : s.status),
              text:
                s.name +
                (s.status === 'waiting_approval' ? ' · awaiting approval' : '') +
                (s.label ? ' · ' + s.label + ' — ' + s.error : '') +
                secs,
            });
          }),
        ),
        run.error ? el('div', { class: 'error', text: run.error }) : null,
        live
          ? el(
              'div',
              { class: 'actions' },
              el('button', {
                class: 'approve',
                disabled: !operate || run.status !== 'waiting_approval',
                title: operate ? '' : 'needs an operate token',
                text: 'Approve',
                onclick: () => act(run, 'approve'),
              }),
              el('button', {
                class: 'abort',
                disabled: !operate,
                title: operate ? '' : 'needs an operate token',
                text: 'Abort',
                onclick: () => act(run, 'abort'),
              }),
            )
          : null,
      );
    }),
  );
}

function handle(error) {
  if (error instanceof Unauthorized) showLogin(error.message);
  else setConnection(false, 'error: ' + error.message);
}

async function refreshStatus() {
  try {
    const range = $('#range').value;
    const [status, history, decisions] = await Promise.all([
      api('/api/status'),
      api('/api/history?since=' + range),
      api('/api/decisions?limit=100'),
    ]);
    state.status = status;
    renderStatus(status);
    renderBanner();
    renderChart(history.points);
    renderDecisions(decisions.decisions);
    setConnection(true);
  } catch (error) {
    handle(error);
  }
}

async function refreshRuns() {
  try {
    state.runs = (await api('/api/runs?limit=10')).runs;
    renderRuns(state.runs);
    renderBanner();
  } catch (error) {
    if (!(error instanceof Unauthorized) && /not available/.test(error.message)) {
      $('#runs').replaceChildren(el('p', { class: 'muted', text: 'The runbook engine is not attached.' }));
    } else handle(error);
  }
}

async function start() {
  try {
    const me = await api('/api/whoami');
    state.role = me.role;
    $('#whoami').textContent = me.name + ' (' + me.role + ')';
    $('#login').hidden = true;
  } catch (error) {
    handle(error);
    return;
  }
  refreshStatus();
  refreshRuns();
}

$('#login').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('#token').value.trim();
  if (token) localStorage.setItem(TOKEN_KEY, token);
  start();
});
$('#range').addEventListener('change', refreshStatus);
$('#pause-toggle').addEventListener('click', togglePause);
window.addEventListener('resize', () => {
  if (state.chart) state.chart.setSize({ width: Math.max(320, $('#chart').clientWidth), height: 300 });
});
setInterval(() => state.role !== 'none' && refreshStatus(), STATUS_EVERY_MS);
setInterval(() => state.role !== 'none' && refreshRuns(), RUNS_EVERY_MS);
start();
