// smimeproxy dashboard: polls the JSON API and updates the page in place.
// No framework; every value is set with textContent, never as HTML.
'use strict';

(() => {
  const REFRESH_MS = 3000;
  const CERTS_EVERY = 20; // refreshes between certificate reloads (1 minute)
  const $ = (id) => document.getElementById(id);
  let cycle = 0;

  async function get(path) {
    const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 401) {
      window.location.assign('/login');
      throw new Error('signed out');
    }
    if (!res.ok) throw new Error(`${path} answered ${res.status}`);
    return res.json();
  }

  function setText(id, value) {
    const el = $(id);
    if (el) el.textContent = value;
  }

  const number = new Intl.NumberFormat();
  const fmtInt = (n) => number.format(n);
  const fmtRate = (r) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));

  function fmtMS(ms) {
    if (!ms) return '–';
    if (ms < 1) return `${ms.toFixed(2)} ms`;
    if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
    return `${(ms / 1000).toFixed(2)} s`;
  }

  function fmtDuration(sec) {
    const d = Math.floor(sec / 86400);
    const h = Math.floor((sec % 86400) / 3600);
    const m = Math.floor((sec % 3600) / 60);
    const s = Math.floor(sec % 60);
    if (d > 0) return `${d}d ${h}h`;
    if (h > 0) return `${h}h ${m}m`;
    if (m > 0) return `${m}m ${s}s`;
    return `${s}s`;
  }

  const fmtTime = (iso) => new Date(iso).toLocaleTimeString();
  const fmtDate = (iso) => new Date(iso).toLocaleDateString(undefined,
    { year: 'numeric', month: 'short', day: 'numeric' });

  function el(tag, cls, content) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content instanceof Node) node.append(content);
    else if (content !== undefined) node.textContent = content;
    return node;
  }

  function cell(label, content, cls) {
    const td = el('td', cls, content);
    td.dataset.label = label;
    return td;
  }

  function row(cells, data) {
    const tr = el('tr');
    tr.append(...cells);
    Object.assign(tr.dataset, data || {});
    return tr;
  }

  function fill(tableId, emptyId, items, makeRow) {
    const table = $(tableId);
    table.tBodies[0].replaceChildren(...items.map(makeRow));
    table.hidden = items.length === 0;
    if (emptyId) $(emptyId).hidden = items.length > 0;
  }

  const decryptClass = (o) => (o === 'decrypted' ? 'ok' : o === 'temporary-error' ? 'warn' : 'bad');
  const signatureClass = (r) => (r === 'pass' ? 'ok' : r === 'fail' || r === 'permerror' ? 'bad'
    : r === 'none' ? '' : 'warn');

  function bar(fraction, cls) {
    const outer = el('div', `bar ${cls}`);
    const inner = el('span');
    inner.style.width = `${Math.round(fraction * 100)}%`;
    outer.append(inner);
    return outer;
  }

  function countTable(tableId, counts, attr, classOf) {
    const top = Math.max(1, ...counts.map((c) => c.total));
    fill(tableId, null, counts, (c) => row([
      cell('', el('span', `pill ${classOf(c.label)}`, c.label)),
      cell('', bar(c.total / top, classOf(c.label))),
      cell('Total', fmtInt(c.total), 'num total'),
      cell('/min', fmtRate(c.per_minute), 'num rate'),
    ], { [attr]: c.label }));
  }

  function renderStats(st) {
    const decrypted = st.decrypt.find((c) => c.label === 'decrypted') || { total: 0, per_minute: 0 };
    const failed = st.decrypt.filter((c) => c.label !== 'decrypted');
    setText('decrypted-total', fmtInt(decrypted.total));
    setText('decrypted-rate', fmtRate(decrypted.per_minute));
    setText('failed-total', fmtInt(failed.reduce((n, c) => n + c.total, 0)));
    setText('failed-rate', fmtRate(failed.reduce((n, c) => n + c.per_minute, 0)));
    const sigTotal = st.signature.reduce((n, c) => n + c.total, 0);
    const pass = st.signature.find((c) => c.label === 'pass');
    setText('signatures-total', fmtInt(sigTotal));
    setText('signatures-notpass', fmtInt(sigTotal - (pass ? pass.total : 0)));
    setText('sessions-total', fmtInt(st.sessions_total.reduce((n, c) => n + c.total, 0)));
    setText('forged-total', fmtInt(st.forged_status_removed));
    countTable('decrypt-table', st.decrypt, 'outcome', decryptClass);
    countTable('signature-table', st.signature, 'result', signatureClass);

    const upstream = (st.upstream || []).filter((u) => u.samples > 0);
    setText('upstream-p50', upstream.length ? fmtMS(upstream[0].p50_ms) : '–');
    setText('upstream-p99', upstream.length ? fmtMS(upstream[0].p99_ms) : '–');
    const lat = upstream.map((u) => ({ ...u, what: `${u.label.toUpperCase()} upstream` }));
    if (st.decrypt_time.samples > 0) lat.push({ ...st.decrypt_time, what: 'Decryption' });
    fill('latency-table', 'latency-empty', lat, (u) => row([
      cell('What', u.what),
      cell('Count', fmtInt(u.count), 'num'),
      cell('p50', fmtMS(u.p50_ms), 'num'),
      cell('p99', fmtMS(u.p99_ms), 'num'),
    ]));
  }

  function renderSessions(data) {
    setText('sessions-count', fmtInt(data.count));
    setText('sessions-count-2', data.count ? `(${data.count})` : '');
    fill('sessions-table', 'sessions-empty', data.sessions, (s) => row([
      cell('Protocol', el('span', 'pill proto', s.proto)),
      cell('User', s.user || 'not logged in', s.user ? 'user' : 'user dim'),
      cell('Client', s.remote, 'mono'),
      cell('Since', `${fmtTime(s.since)} (${fmtDuration(s.duration_seconds)})`),
      cell('Mailbox', s.mailbox || '—', s.mailbox ? 'mailbox' : 'mailbox dim'),
    ], { session: s.id }));
  }

  function messageOf(ev) {
    if (ev.uidl) return `uidl ${ev.uidl}`;
    if (ev.uid) return `${ev.mailbox} · uid ${ev.uid}`;
    return ev.mailbox || '—';
  }

  function renderEvents(data) {
    fill('events-table', 'events-empty', data.events, (ev) => {
      const cls = ev.kind === 'verify' ? signatureClass(ev.outcome) : decryptClass(ev.outcome);
      let outcome = ev.kind === 'forged-status' ? `${ev.count} removed` : ev.outcome || '—';
      if (ev.reason) outcome += `: ${ev.reason}`;
      return row([
        cell('Time', fmtTime(ev.time), 'mono'),
        cell('Event', ev.kind),
        cell('User', ev.user || '—'),
        cell('Message', messageOf(ev)),
        cell('Outcome', el('span', `pill ${ev.kind === 'forged-status' ? 'warn' : cls}`, outcome)),
        cell('Key', ev.key_id || '—', 'mono'),
      ], { kind: ev.kind });
    });
  }

  function renderOverview(o) {
    const badge = $('ready');
    const ready = o.ready.status === 'ready';
    badge.textContent = ready ? 'ready' : 'not ready';
    badge.className = `badge ${ready ? 'ready' : 'notready'}`;
    badge.title = o.ready.checks.map((c) => `${c.name}: ${c.ok ? 'ok' : 'failing'}`).join('\n');
    setText('version', o.version || 'unknown');
    setText('revision', o.revision ? `Revision ${o.revision.slice(0, 12)}` : '');
    setText('goversion', o.go_version);
    setText('uptime', fmtDuration(o.uptime_seconds));
    setText('started', new Date(o.started).toLocaleString());
  }

  function expiryPill(days) {
    const cls = days < 0 ? 'bad' : days <= 7 ? 'warn' : '';
    return el('span', `pill ${cls}`, days < 0 ? 'expired' : String(days));
  }

  function renderCertificates(c) {
    setText('window-days', String(c.window_days));
    fill('expiring-table', 'expiring-empty', c.vault.expiring, (k) => row([
      cell('User', k.user),
      cell('Subject', k.subject),
      cell('Expires', fmtDate(k.not_after)),
      cell('Days', expiryPill(k.days_left), 'num'),
    ]));
    setText('expiring-empty', !c.vault.configured ? 'Not configured.'
      : c.vault.error ? `Vault ${c.vault.error}.` : `None of ${c.vault.total} certificates.`);
    fill('anchors-table', 'anchors-empty', c.trust.anchors, (a) => row([
      cell('Subject', a.subject),
      cell('Kind', a.kind || '—'),
      cell('Expires', fmtDate(a.not_after)),
    ]));
    setText('anchors-empty', !c.trust.configured ? 'Not configured.'
      : c.trust.error ? `Trust store ${c.trust.error}.` : 'No trust anchors.');
    fill('crls-table', 'crls-empty', c.revocation.crls, (l) => row([
      cell('Issuer', l.last_error ? `${l.issuer} (refresh failed)` : l.issuer),
      cell('Next update', fmtDate(l.next_update)),
      cell('Entries', fmtInt(l.entries), 'num'),
    ]));
    setText('crls-empty', !c.revocation.configured ? 'Not configured.'
      : c.revocation.error ? `CRLs ${c.revocation.error}.` : 'No CRLs held.');
  }

  async function refresh() {
    const jobs = [
      get('/api/stats').then(renderStats),
      get('/api/sessions').then(renderSessions),
      get('/api/events?limit=50').then(renderEvents),
      get('/api/overview').then(renderOverview),
    ];
    if (cycle % CERTS_EVERY === 0) jobs.push(get('/api/certificates').then(renderCertificates));
    cycle += 1;
    try {
      await Promise.all(jobs);
      $('error').hidden = true;
      setText('updated', `Updated ${new Date().toLocaleTimeString()}`);
      document.body.dataset.loaded = String(cycle);
    } catch (err) {
      setText('error', `Could not refresh: ${err.message}`);
      $('error').hidden = false;
    }
  }

  async function loop() {
    await refresh();
    window.setTimeout(loop, REFRESH_MS);
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refresh();
  });
  loop();
})();
